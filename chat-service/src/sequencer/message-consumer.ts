import type { Consumer, EachBatchPayload, Producer } from 'kafkajs';
import type { ChatMessage, Logger, MessageRecord } from '@chat/shared';
import { decodeMessageRecord } from './record-codec.js';
import type { Sequencer } from './sequencer.js';

export interface MessageConsumerOptions {
  topic: string;
  dlqTopic: string;
  /** Attempts per batch before the consumer gives the partition back to Kafka's retry. @default 5 */
  maxRetries?: number;
}

export interface ConsumerMetrics {
  markSequenced(count: number): void;
  markDeadLettered(reason: string): void;
  markRetry(): void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Consumes chat.messages: sequence + persist, then deliver, then commit (offsets are committed
 * only after the messages are durable). Malformed or impossible records go to the dead-letter
 * topic with the reason in headers. Storage failures are retried with backoff and never skipped:
 * skipping would break per-conversation order, so the partition waits instead.
 */
export class MessageConsumer {
  private readonly maxRetries: number;

  constructor(
    private readonly consumer: Consumer,
    private readonly dlqProducer: Producer,
    private readonly sequencer: Sequencer,
    private readonly deliver: (messages: ChatMessage[]) => Promise<unknown>,
    private readonly log: Logger,
    private readonly metrics: ConsumerMetrics,
    private readonly opts: MessageConsumerOptions,
  ) {
    this.maxRetries = opts.maxRetries ?? 5;
  }

  async start(): Promise<void> {
    await this.consumer.subscribe({ topic: this.opts.topic, fromBeginning: true });
    await this.consumer.run({
      eachBatchAutoResolve: false,
      autoCommit: false,
      partitionsConsumedConcurrently: 4,
      eachBatch: (payload) => this.handleBatch(payload),
    });
  }

  private async handleBatch({ batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale }: EachBatchPayload): Promise<void> {
    const valid: MessageRecord[] = [];
    for (const m of batch.messages) {
      try {
        valid.push(decodeMessageRecord(m.value));
      } catch (err) {
        await this.deadLetter(m.value, m.key, (err as Error).message, batch.partition, m.offset);
      }
    }
    for (let attempt = 1; valid.length > 0; attempt++) {
      if (!isRunning() || isStale()) return;
      try {
        const { messages, poisoned } = await this.sequencer.process(valid);
        this.metrics.markSequenced(messages.length);
        for (const p of poisoned) {
          await this.deadLetter(Buffer.from(JSON.stringify(p.record)), Buffer.from(p.record.conversation_id), p.reason, batch.partition, 'sequencer');
        }
        await this.deliverSafely(messages);
        break;
      } catch (err) {
        // A retry re-derives the same seqs (claims are recorded with their message ids).
        this.metrics.markRetry();
        this.log.warn({ err: (err as Error).message, attempt, partition: batch.partition }, 'sequencing failed, retrying');
        if (attempt >= this.maxRetries) throw err;
        await sleep(Math.min(100 * 2 ** attempt, 5000));
        await heartbeat();
      }
    }
    const last = batch.messages.at(-1);
    if (last) resolveOffset(last.offset);
    await commitOffsetsIfNecessary();
    await heartbeat();
  }

  private async deliverSafely(messages: ChatMessage[]): Promise<void> {
    try {
      await this.deliver(messages);
    } catch (err) {
      // Messages are durable already; clients recover missed deliveries through sync/gap fill.
      this.log.warn({ err: (err as Error).message, count: messages.length }, 'real-time delivery failed');
    }
  }

  private async deadLetter(value: Buffer | null, key: Buffer | null, reason: string, partition: number, offset: string): Promise<void> {
    this.metrics.markDeadLettered(reason.slice(0, 64));
    this.log.error({ reason, partition, offset }, 'record dead-lettered');
    await this.dlqProducer.send({
      topic: this.opts.dlqTopic,
      acks: -1,
      messages: [
        {
          key,
          value,
          headers: { 'x-error': reason.slice(0, 500), 'x-source-topic': this.opts.topic, 'x-source-partition': String(partition), 'x-source-offset': offset },
        },
      ],
    });
  }
}
