import type { ChatMessage } from '@chat/protocol';
import { encodeSequencedRecord } from '@chat/protocol/internal';
import type { Producer } from 'kafkajs';

/**
 * Publishes stored messages to the sequenced stream (SequencedRecord, key = conversation_id) with
 * acks=all through an idempotent producer holding one request in flight, so a conversation's
 * records land in the order given. Resolves only once Kafka has every record; a rejection may
 * leave some published (the caller publishes them again: consumers dedup by conversation and seq).
 */
export class SequencedPublisher {
  constructor(
    private readonly producer: Producer,
    private readonly topic: string,
  ) {}

  async publish(messages: ChatMessage[]): Promise<void> {
    if (messages.length === 0) return;
    await this.producer.send({
      topic: this.topic,
      acks: -1,
      messages: messages.map((m) => ({ key: m.conversation_id, value: encodeSequencedRecord(m) })),
    });
  }
}
