import type { Consumer, EachBatchPayload, KafkaMessage, Producer } from 'kafkajs';
import type { ChatMessage, Logger, MessageRecord } from '@chat/shared';
import type { SequencerLeases } from '../store/sequencer-lease.js';
import { decodeMessageRecord } from './record-codec.js';
import { MAX_CHUNK, OwnershipLostError, Sequencer } from './sequencer.js';

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
  markDuplicates(count: number): void;
  markDeadLettered(reason: string): void;
  markRetry(): void;
}

interface Ownership {
  generation: number;
  sequencer: Sequencer;
  checkedAt: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Exponential backoff with full jitter, capped. */
export const backoffMs = (attempt: number, baseMs = 100, capMs = 5000) => Math.random() * Math.min(baseMs * 2 ** attempt, capMs);

/**
 * Consumes chat.messages: sequence + persist, then deliver, then commit. The offset of each chunk
 * (at most MAX_CHUNK records) is committed as soon as the chunk is durable, so a crash replays at
 * most one chunk per partition; whatever is replayed keeps its seq anyway (the sequencer decides
 * from durable state). Malformed or impossible records go to the dead-letter topic with the
 * reason in headers. Storage failures are retried with backoff and never skipped: skipping would
 * break per-conversation order, so the conversation waits instead; conversations of the chunk
 * that were stored are delivered at once.
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
    this.consumer.on(this.consumer.events.GROUP_JOIN, () => this.dropAll());
    await this.consumer.subscribe({ topic: this.opts.topic, fromBeginning: true });
    await this.consumer.run({
      // Offsets are resolved and committed by handleBatch, chunk by chunk, once durable.
      eachBatchAutoResolve: false,
      autoCommit: true,
      // All partitions of a fetch at once: a fetch cycle lasts as long as its slowest partition, not the sum.
      partitionsConsumedConcurrently: 16,
      eachBatch: (payload) => this.handleBatch(payload),
    });
  }

  private dropAll(): void {
    for (const o of this.owned.values()) o.sequencer.close();
    this.owned.clear();
  }

  private drop(partition: number): void {
    this.owned.get(partition)?.sequencer.close();
    this.owned.delete(partition);
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
        this.drop(partition);
        this.log.warn({ partition, generation: current.generation }, 'partition lease lost; stopping work on it');
        return null;
      }
      current.checkedAt = Date.now();
    }
    return current;
  }

  /** One fetch batch of one partition (kafkajs eachBatch; public so tests can drive it). */
  async handleBatch({ batch, resolveOffset, commitOffsetsIfNecessary, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    for (let i = 0; i < batch.messages.length; i += MAX_CHUNK) {
      if (!isRunning() || isStale()) return;
      const chunk = batch.messages.slice(i, i + MAX_CHUNK);
      if (!(await this.processChunk(chunk, batch.partition, heartbeat))) return;
      const last = chunk.at(-1)!.offset;
      resolveOffset(last);
      // Explicit offsets: without them kafkajs commits only when an autoCommit interval or
      // threshold is due, i.e. (with neither set) only after the whole fetch batch.
      await commitOffsetsIfNecessary({
        topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: (BigInt(last) + 1n).toString() }] }],
      });
      await heartbeat();
    }
  }

  /** Returns false when the partition is no longer ours (nothing is committed then). */
  private async processChunk(chunk: KafkaMessage[], partition: number, heartbeat: () => Promise<void>): Promise<boolean> {
    let pending: MessageRecord[] = [];
    for (const m of chunk) {
      try {
        pending.push(decodeMessageRecord(m.value));
      } catch (err) {
        await this.deadLetter(m.value, m.key, (err as Error).message, partition, m.offset);
      }
    }
    for (let attempt = 1; pending.length > 0; attempt++) {
      let failure: Error | undefined;
      try {
        const owner = await this.ownership(partition);
        if (!owner) return false;
        const result = await owner.sequencer.process(pending);
        this.metrics.markSequenced(result.messages.length);
        if (result.duplicates > 0) this.metrics.markDuplicates(result.duplicates);
        for (const p of result.poisoned) {
          await this.deadLetter(Buffer.from(JSON.stringify(p.record)), Buffer.from(p.record.conversation_id), p.reason, partition, 'sequencer');
        }
        // What was stored is delivered now, whatever happened to the other conversations.
        await this.deliverSafely(result.messages);
        if ([...result.failed.values()].some((e) => e instanceof OwnershipLostError)) {
          this.drop(partition);
          this.log.warn({ partition }, 'partition lease no longer proven; stopping work on it');
          return false;
        }
        if (result.failed.size === 0) return true;
        pending = pending.filter((r) => result.failed.has(r.conversation_id));
        failure = result.failed.values().next().value;
      } catch (err) {
        failure = err as Error;
      }
      this.metrics.markRetry();
      this.log.warn({ err: failure?.message, attempt, partition, records: pending.length }, 'sequencing failed, retrying');
      if (attempt >= this.maxRetries) throw failure;
      await sleep(backoffMs(attempt));
      await heartbeat();
    }
    return true;
  }

  private async deliverSafely(messages: ChatMessage[]): Promise<void> {
    if (messages.length === 0) return;
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
