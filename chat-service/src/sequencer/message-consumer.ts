import type { Consumer, EachBatchPayload, KafkaMessage, Producer } from 'kafkajs';
import type { ChatMessage, Logger, MessageRecord } from '@chat/shared';
import type { SequencerLeases } from '../store/sequencer-lease.js';
import { decodeMessageRecord } from './record-codec.js';
import { MAX_CHUNK, Sequencer } from './sequencer.js';

export interface MessageConsumerOptions {
  topic: string;
  dlqTopic: string;
  /** Name written into the lease rows. */
  owner: string;
  /** Attempts per chunk before the consumer gives the partition back to Kafka's retry. @default 5 */
  maxRetries?: number;
  /** How often a partition owner re-reads its lease to notice it lost the partition. @default 500 */
  leaseCheckMs?: number;
}

export interface ConsumerMetrics {
  markSequenced(count: number): void;
  markDeadLettered(reason: string): void;
  markRetry(): void;
}

interface Ownership {
  generation: number;
  sequencer: Sequencer;
  checkedAt: number;
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
  private readonly leaseCheckMs: number;
  private readonly owned = new Map<number, Ownership>();

  constructor(
    private readonly consumer: Consumer,
    private readonly dlqProducer: Producer,
    private readonly newSequencer: (generation: number) => Sequencer,
    private readonly leases: SequencerLeases,
    private readonly deliver: (messages: ChatMessage[]) => Promise<unknown>,
    private readonly log: Logger,
    private readonly metrics: ConsumerMetrics,
    private readonly opts: MessageConsumerOptions,
  ) {
    this.maxRetries = opts.maxRetries ?? 5;
    this.leaseCheckMs = opts.leaseCheckMs ?? 500;
  }

  async start(): Promise<void> {
    // Every rebalance may hand a partition to someone else and back: take each lease anew.
    this.consumer.on(this.consumer.events.GROUP_JOIN, () => this.owned.clear());
    await this.consumer.subscribe({ topic: this.opts.topic, fromBeginning: true });
    await this.consumer.run({
      // Only offsets we resolve (after the write) are committed; kafkajs commits them after each batch.
      eachBatchAutoResolve: false,
      autoCommit: true,
      // All partitions of a fetch at once: a fetch cycle lasts as long as its slowest partition, not the sum.
      partitionsConsumedConcurrently: 16,
      eachBatch: (payload) => this.handleBatch(payload),
    });
  }

  /** The sequencer of a partition we own, or null if another consumer took it. */
  private async ownership(partition: number): Promise<Ownership | null> {
    const current = this.owned.get(partition);
    if (!current) {
      const generation = await this.leases.acquire(this.opts.topic, partition, this.opts.owner);
      const fresh = { generation, sequencer: this.newSequencer(generation), checkedAt: Date.now() };
      this.owned.set(partition, fresh);
      this.log.info({ partition, generation }, 'partition lease acquired');
      return fresh;
    }
    if (Date.now() - current.checkedAt >= this.leaseCheckMs) {
      if ((await this.leases.generation(this.opts.topic, partition)) !== current.generation) {
        this.owned.delete(partition);
        this.log.warn({ partition, generation: current.generation }, 'partition lease lost; stopping work on it');
        return null;
      }
      current.checkedAt = Date.now();
    }
    return current;
  }

  private async handleBatch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    for (let i = 0; i < batch.messages.length; i += MAX_CHUNK) {
      if (!isRunning() || isStale()) return;
      const chunk = batch.messages.slice(i, i + MAX_CHUNK);
      if (!(await this.processChunk(chunk, batch.partition, heartbeat))) return;
      resolveOffset(chunk.at(-1)!.offset);
      await heartbeat();
    }
  }

  /** Returns false when the partition is no longer ours (nothing is committed then). */
  private async processChunk(chunk: KafkaMessage[], partition: number, heartbeat: () => Promise<void>): Promise<boolean> {
    const valid: MessageRecord[] = [];
    for (const m of chunk) {
      try {
        valid.push(decodeMessageRecord(m.value));
      } catch (err) {
        await this.deadLetter(m.value, m.key, (err as Error).message, partition, m.offset);
      }
    }
    for (let attempt = 1; valid.length > 0; attempt++) {
      try {
        const owner = await this.ownership(partition);
        if (!owner) return false;
        const { messages, poisoned } = await owner.sequencer.process(valid);
        this.metrics.markSequenced(messages.length);
        for (const p of poisoned) {
          await this.deadLetter(Buffer.from(JSON.stringify(p.record)), Buffer.from(p.record.conversation_id), p.reason, partition, 'sequencer');
        }
        await this.deliverSafely(messages);
        break;
      } catch (err) {
        this.metrics.markRetry();
        this.log.warn({ err: (err as Error).message, attempt, partition }, 'sequencing failed, retrying');
        if (attempt >= this.maxRetries) throw err;
        await sleep(Math.min(100 * 2 ** attempt, 5000));
        await heartbeat();
      }
    }
    return true;
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
