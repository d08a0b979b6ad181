import type { ChatMessage } from '@chat/protocol';
import { encodeSequencedRecord } from '@chat/protocol/internal';
import type { Message } from 'kafkajs';
import { MAX_REQUEST_RECORD_BYTES, sizeOf, type BatchingProducer } from '../send/batching-producer.js';

/** Longest a publish may wait for Kafka's confirmation before the chunk is retried. */
const PUBLISH_DEADLINE_MS = 30_000;

/**
 * Publishes stored messages to the sequenced stream (SequencedRecord, key = conversation_id) with
 * acks=all. The partitions' concurrent publishes share produce requests (one idempotent producer
 * allows one request in flight; one request per publish would serialize the partitions behind
 * each other). One call's records go in one request, so a conversation's records land in the
 * order given; more than a request may hold go in parts, each sent once the one before is
 * acked. Resolves only once Kafka has every record; a rejection may leave some published (the
 * caller publishes them again: consumers dedup by conversation and seq).
 */
export class SequencedPublisher {
  constructor(
    private readonly producer: BatchingProducer,
    private readonly topic: string,
  ) {}

  async publish(messages: ChatMessage[]): Promise<void> {
    if (messages.length === 0) return;
    const deadline = Date.now() + PUBLISH_DEADLINE_MS;
    const records = messages.map((m) => ({ key: m.conversation_id, value: encodeSequencedRecord(m) }));
    for (const part of partsOf(records, MAX_REQUEST_RECORD_BYTES)) await this.producer.sendAll(this.topic, part, deadline);
  }
}

/** Consecutive runs of `records` of at most `maxBytes` each (a larger record alone). */
export function partsOf(records: Message[], maxBytes: number): Message[][] {
  const parts: Message[][] = [];
  let bytes = Infinity;
  for (const r of records) {
    const size = sizeOf(r);
    if (bytes + size > maxBytes) {
      parts.push([]);
      bytes = 0;
    }
    parts[parts.length - 1]!.push(r);
    bytes += size;
  }
  return parts;
}
