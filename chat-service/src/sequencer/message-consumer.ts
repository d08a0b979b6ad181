import type { Consumer, EachBatchPayload, KafkaMessage, Producer } from 'kafkajs';
import type { ChatMessage } from '@chat/protocol';
import type { MessageRecord } from '@chat/protocol/internal';
import type { Logger } from '@chat/server/logger';
import type { SequencerLeases } from '../store/sequencer-lease.js';
import { LeaseClock, type LeaseClockOptions } from './lease-clock.js';
import { decodeMessageRecord } from './record-codec.js';
import { MAX_CHUNK, OwnershipLostError, type Sequencer } from './sequencer.js';

export interface MessageConsumerOptions {
  topic: string;
  dlqTopic: string;
  /** Name written into the lease rows. */
  owner: string;
  /** Attempts per chunk before the consumer gives the partition back to Kafka's retry. @default 5 */
  maxRetries?: number;
  /**
   * A partition owner re-reads its lease (to keep writing: see LeaseClock, and to notice it lost the
   * partition) this often while it works on a chunk, and before a chunk when less than this much of
   * the lease's validity is left; a chunk with less than twice this left starts a re-read it does
   * not wait for. @default 500
   */
  leaseCheckMs?: number;
  /** Lease validity and tolerated clock skew (LeaseClock); a new owner waits their sum before its first write. */
  leaseClock?: LeaseClockOptions;
}

export interface ConsumerMetrics {
  markSequenced(count: number): void;
  markDuplicates(count: number): void;
  markDeadLettered(reason: string): void;
  markRetry(): void;
}

/** What happens to messages once they are stored. */
export interface StoredMessageSinks {
  /** Real-time delivery to online devices: best effort (a failure is logged, clients fill gaps). */
  deliver(messages: ChatMessage[]): Promise<unknown>;
  /**
   * The sequenced stream: must succeed before the chunk's offsets are committed. Given each
   * conversation's messages in ascending seq; called again with the same messages after a failure.
   */
  publish(messages: ChatMessage[]): Promise<void>;
}

interface Ownership {
  generation: number;
  sequencer: Sequencer;
  clock: LeaseClock;
  /** Highest offset this owner stored a chunk through: a chunk starting at or below it is a second look. */
  processedThrough: bigint;
  /** A confirmation started off the chunks' path is out. */
  confirming: boolean;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Exponential backoff with full jitter, capped. */
export const backoffMs = (attempt: number, baseMs = 100, capMs = 5000) => Math.random() * Math.min(baseMs * 2 ** attempt, capMs);

/**
 * Consumes chat.messages: sequence + persist, deliver each conversation as soon as it is stored,
 * publish to the sequenced stream, then commit. The offset of each chunk
 * (at most MAX_CHUNK records) is committed as soon as the chunk is durable, so a crash replays at
 * most one chunk per partition; whatever is replayed keeps its seq anyway (the sequencer decides
 * from durable state). Malformed or impossible records go to the dead-letter topic with the
 * reason in headers. Storage failures are retried with backoff and never skipped: skipping would
 * break per-conversation order, so the conversation waits instead; conversations of the chunk
 * that were stored are delivered at once. A chunk is committed only once the sequenced stream has
 * every message it stored: a failed publish forgets the sequencer's memory, so the retry finds the
 * stored messages in Cassandra and publishes them again.
 */
export class MessageConsumer {
  private readonly maxRetries: number;
  private readonly leaseCheckMs: number;
  private readonly owned = new Map<number, Ownership>();
  private readonly acquiring = new Map<number, Promise<Ownership | null>>();
  /** Stored messages waiting for the next event-loop turn's delivery (deliverSoon). */
  private nextDelivery: { messages: ChatMessage[]; done: Promise<void> } | null = null;
  /** Bumped on every group join: an acquisition started for an older assignment is discarded. */
  private assignment = 0;

  constructor(
    private readonly consumer: Consumer,
    private readonly dlqProducer: Producer,
    private readonly newSequencer: (clock: LeaseClock) => Sequencer,
    private readonly leases: SequencerLeases,
    private readonly sinks: StoredMessageSinks,
    private readonly log: Logger,
    private readonly metrics: ConsumerMetrics,
    private readonly opts: MessageConsumerOptions,
  ) {
    this.maxRetries = opts.maxRetries ?? 5;
    this.leaseCheckMs = opts.leaseCheckMs ?? 500;
  }

  async start(): Promise<void> {
    // Every rebalance may hand a partition to someone else and back: take each assigned lease
    // anew, right away (not on the first batch), so the new owner's wait (LeaseClock) overlaps the fetch.
    this.consumer.on(this.consumer.events.GROUP_JOIN, (event) => this.onAssignment(event.payload.memberAssignment[this.opts.topic] ?? []));
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

  /** A new assignment: forget every partition, take the lease of each assigned one. */
  onAssignment(partitions: number[]): void {
    this.assignment++;
    for (const o of this.owned.values()) o.sequencer.close();
    this.owned.clear();
    this.acquiring.clear();
    for (const partition of partitions) {
      this.take(partition).catch((err: Error) => this.log.warn({ partition, err }, 'taking the partition lease failed; retried on the first batch'));
    }
  }

  private drop(partition: number): void {
    this.owned.get(partition)?.sequencer.close();
    this.owned.delete(partition);
  }

  /** Takes the lease, waits until the new owner may write, confirms the lease again. Null if it was lost meanwhile. */
  private take(partition: number): Promise<Ownership | null> {
    const pending = this.acquiring.get(partition);
    if (pending) return pending;
    const assignment = this.assignment;
    const taking = (async () => {
      const sent = Date.now();
      const generation = await this.leases.acquire(this.opts.topic, partition, this.opts.owner);
      const clock = new LeaseClock(sent, Date.now(), this.opts.leaseClock);
      const ownership: Ownership = { generation, sequencer: this.newSequencer(clock), clock, processedThrough: -1n, confirming: false };
      this.log.info({ partition, generation }, 'partition lease acquired');
      const wait = clock.usableAt - Date.now();
      if (wait > 0) await sleep(wait);
      if (assignment !== this.assignment || !(await this.confirm(partition, ownership))) return null;
      this.owned.set(partition, ownership);
      return ownership;
    })().finally(() => {
      if (this.acquiring.get(partition) === taking) this.acquiring.delete(partition);
    });
    this.acquiring.set(partition, taking);
    return taking;
  }

  /** Reads our generation back; true (and the clock confirmed) if the partition is still ours. */
  private async confirm(partition: number, o: Ownership): Promise<boolean> {
    const sent = Date.now();
    if ((await this.leases.generation(this.opts.topic, partition)) !== o.generation) return false;
    o.clock.confirm(sent);
    return true;
  }

  /**
   * Runs `work` while re-confirming the lease every leaseCheckMs. Under load storage reads can take
   * a chunk past the lease's validity before it writes; its writes were then refused and the chunk
   * started over, slower each time. A lost lease is not confirmed, so the writes are still refused.
   */
  private async whileConfirmed<T>(partition: number, owner: Ownership, work: () => Promise<T>): Promise<T> {
    const timer = setInterval(() => this.confirmAside(partition, owner), this.leaseCheckMs);
    try {
      return await work();
    } finally {
      clearInterval(timer);
    }
  }

  /**
   * Starts a confirmation that nobody waits for (one at a time per owner). A lost lease is not
   * confirmed, so the clock refuses the next writes and the next `ownership` check drops the partition.
   */
  private confirmAside(partition: number, o: Ownership): void {
    if (o.confirming) return;
    o.confirming = true;
    this.confirm(partition, o)
      .catch(() => false)
      .finally(() => (o.confirming = false));
  }

  /** The sequencer of a partition we own, or null if another consumer took it. */
  private async ownership(partition: number, force = false): Promise<Ownership | null> {
    const current = this.owned.get(partition) ?? (await this.take(partition));
    if (!current) return null;
    // Not before every chunk: under load that read was a Cassandra round trip in every chunk's path.
    if (force || current.clock.needsConfirmation(this.leaseCheckMs)) {
      if (!(await this.confirm(partition, current))) {
        this.drop(partition);
        this.log.warn({ partition, generation: current.generation }, 'partition lease lost; stopping work on it');
        return null;
      }
    } else if (current.clock.needsConfirmation(2 * this.leaseCheckMs)) {
      // Ahead of time, so a busy partition's chunks never wait for the (serial) read: a chunk that
      // waits holds up the next fetch of every partition.
      this.confirmAside(partition, current);
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
        // Records this owner may have stored already (an offset commit failed, the batch came again).
        if (BigInt(chunk[0]!.offset) <= owner.processedThrough) owner.sequencer.distrustFirstSendsUntilNow();
        // Each conversation is delivered as soon as it is stored, not after the chunk's slowest one.
        const deliveries: Promise<void>[] = [];
        const result = await this.whileConfirmed(partition, owner, () =>
          owner.sequencer.process(pending, (stored) => deliveries.push(this.deliverSoon(stored))),
        );
        this.metrics.markSequenced(result.messages.length);
        if (result.duplicates > 0) this.metrics.markDuplicates(result.duplicates);
        for (const p of result.poisoned) {
          await this.deadLetter(Buffer.from(JSON.stringify(p.record)), Buffer.from(p.record.conversation_id), p.reason, partition, 'sequencer');
        }
        // What was stored is published now, whatever happened to the other conversations.
        await Promise.all([...deliveries, this.publish(owner, result.messages)]);
        if (result.failed.size === 0) {
          owner.processedThrough = BigInt(chunk.at(-1)!.offset);
          return true;
        }
        pending = pending.filter((r) => result.failed.has(r.conversation_id));
        // Not confirmed recently enough to write (a slow chunk): confirm and go on, or stop if it is gone.
        if (attempt < 2 * this.maxRetries && [...result.failed.values()].every((e) => e instanceof OwnershipLostError)) {
          if (!(await this.ownership(partition, true))) return false;
          continue;
        }
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

  /**
   * A failed publish makes the sequencer forget what it stored: its memory would take the retried
   * records for copies and leave them out, and they must be published again.
   */
  private async publish(owner: Ownership, messages: ChatMessage[]): Promise<void> {
    try {
      await this.sinks.publish(messages);
    } catch (err) {
      owner.sequencer.forgetStored();
      throw err;
    }
  }

  /**
   * Delivers `messages` together with whatever else is stored in the same event-loop turn: one
   * routing lookup and one publish pipeline for all of them (Deliverer), as when a whole chunk went at once.
   */
  private deliverSoon(messages: ChatMessage[]): Promise<void> {
    if (!this.nextDelivery) {
      const batch: ChatMessage[] = [];
      const done = new Promise<void>((resolve) =>
        setImmediate(() => {
          this.nextDelivery = null;
          resolve(this.deliverSafely(batch));
        }),
      );
      this.nextDelivery = { messages: batch, done };
    }
    this.nextDelivery.messages.push(...messages);
    return this.nextDelivery.done;
  }

  private async deliverSafely(messages: ChatMessage[]): Promise<void> {
    if (messages.length === 0) return;
    try {
      await this.sinks.deliver(messages);
    } catch (err) {
      // Messages are durable already; clients recover missed deliveries through sync/gap fill.
      this.log.warn({ err, count: messages.length, message_ids: messages.slice(0, 10).map((m) => m.message_id) }, 'real-time delivery failed');
    }
  }

  private async deadLetter(value: Buffer | null, key: Buffer | null, reason: string, partition: number, offset: string): Promise<void> {
    this.metrics.markDeadLettered(reason.slice(0, 64));
    this.log.error({ reason, partition, offset, conversation_id: key?.toString('utf8').slice(0, 64) }, 'record dead-lettered');
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
