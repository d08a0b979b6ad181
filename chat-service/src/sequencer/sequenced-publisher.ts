import type { ChatMessage } from '@chat/protocol';
import { encodeSequencedRecord } from '@chat/protocol/internal';
import type { BatchingProducer } from '../send/batching-producer.js';

/** Longest a publish may wait for Kafka's confirmation before the chunk is retried. */
const PUBLISH_DEADLINE_MS = 30_000;

/**
 * Publishes stored messages to the sequenced stream (SequencedRecord, key = conversation_id) with
 * acks=all. The partitions' concurrent publishes share produce requests (one idempotent producer
 * allows one request in flight; one request per publish would serialize the partitions behind
 * each other). One call's records go in one request, so a conversation's records land in the
 * order given. Resolves only once Kafka has every record; a rejection may leave some published
 * (the caller publishes them again: consumers dedup by conversation and seq).
 */
export class SequencedPublisher {
  constructor(
    private readonly producer: BatchingProducer,
    private readonly topic: string,
  ) {}

  async publish(messages: ChatMessage[]): Promise<void> {
    if (messages.length === 0) return;
    const records = messages.map((m) => ({ key: m.conversation_id, value: encodeSequencedRecord(m) }));
    await this.producer.sendAll(this.topic, records, Date.now() + PUBLISH_DEADLINE_MS);
  }
}
