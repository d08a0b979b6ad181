import { ChatError, Errors } from '@chat/protocol';
import { pushTo } from '@chat/server/collections';
import type { Logger } from '@chat/server/logger';
import type { Message, Producer } from 'kafkajs';
import type { CircuitBreaker } from '../resilience/circuit-breaker.js';

/** Makes a new, unconnected idempotent producer (acks=all, one request in flight). main.ts wires it. */
export type ProducerFactory = () => Producer;

/**
 * Kafka refuses a whole request when one partition's record batch in it exceeds the topic's
 * max.message.bytes (1,048,588 by default, which the tooling keeps), so a request holds at most
 * this much of record bytes whatever partitions its records go to.
 */
export const MAX_REQUEST_RECORD_BYTES = 1_000_000;
/** What a record adds to its key and value inside a record batch (length, offset and timestamp varints, header count), rounded up. */
const RECORD_OVERHEAD_BYTES = 40;

export interface BatchingProducerOptions {
  /** Most records per produce request (a larger group goes alone). @default 5000 */
  maxBatch?: number;
  /** Most record bytes (key, value and per-record overhead) per produce request (a larger group goes alone). @default MAX_REQUEST_RECORD_BYTES */
  maxBatchBytes?: number;
  /** Records waiting to be handed to Kafka before new sends are refused (4101). @default 10000 */
  maxQueuedMessages?: number;
  /** Record bytes (as maxBatchBytes counts them) waiting to be handed to Kafka before new sends are refused (4101). @default 16 MiB */
  maxQueuedBytes?: number;
  /** Longest wait for a (replacement) producer to connect before that attempt counts as failed. @default 5000 */
  connectTimeoutMs?: number;
}

type State = 'queued' | 'sent' | 'done';

/** One caller's records: produced together in one request, never split across requests. */
interface Waiting {
  topic: string;
  messages: Message[];
  bytes: number;
  deadline: number;
  state: State;
  timer: NodeJS.Timeout;
  resolve: () => void;
  reject: (err: ChatError) => void;
}

/** Never handed to Kafka: certainly not written. */
function notWritten(why: string): ChatError {
  return new ChatError(Errors.UNAVAILABLE, `message log unavailable (${why}); the message was not written; retry with the same client_msg_id`);
}

/** Handed to Kafka without a confirmation: it may or may not be written; a retry is deduplicated. */
function outcomeUnknown(why: string): ChatError {
  return new ChatError(Errors.UNAVAILABLE, `message log did not confirm the write (${why}); retry with the same client_msg_id`);
}

/** Bytes a record takes in a record batch, uncompressed. */
export function sizeOf(message: Message): number {
  const len = (v: Message['value'] | Message['key']) => (v == null ? 0 : typeof v === 'string' ? Buffer.byteLength(v) : v.length);
  return len(message.key) + len(message.value) + RECORD_OVERHEAD_BYTES;
}

/**
 * The send path's writer to Kafka. Coalesces concurrent sends into one request: the idempotent
 * producer allows one request in flight, so while one batch is being written the next one fills
 * up (no timer, no added latency when idle).
 *
 * Contract:
 * - `send` resolves only when Kafka acked its record (acks=all). It always settles by `deadline`:
 *   a record still queued then is dropped and never produced ("not written"); a record already
 *   handed to Kafka is answered "outcome unknown" (it may still land; the sender retries with the
 *   same client_msg_id and the sequencer deduplicates by message_id). Both are 4101 UNAVAILABLE.
 * - The queue is bounded by count and bytes; over either bound a send is refused at once.
 * - After any failed or timed-out batch the producer is replaced (disconnected, a new one created
 *   and connected: a new producer id), because kafkajs rolls its sequence numbers back after an
 *   unknown outcome while keeping the producer id, after which the broker could take new records
 *   for duplicates of old ones (acked, never written) or refuse them as out of order forever.
 * - `breaker` opens after consecutive failed batches or connects; while open sends are refused at once.
 */
export class BatchingProducer {
  private queue: Waiting[] = [];
  private queuedMessages = 0;
  private queuedBytes = 0;
  private flushing = false;
  private closed = false;
  private producer: Producer | undefined;
  private readonly opts: Required<BatchingProducerOptions>;

  constructor(
    private readonly createProducer: ProducerFactory,
    private readonly breaker: CircuitBreaker,
    private readonly log: Logger,
    options: BatchingProducerOptions = {},
  ) {
    this.opts = {
      maxBatch: 5000,
      maxBatchBytes: MAX_REQUEST_RECORD_BYTES,
      maxQueuedMessages: 10_000,
      maxQueuedBytes: 16 * 1024 * 1024,
      connectTimeoutMs: 5000,
      ...options,
    };
  }

  /** Connects the first producer (fails if Kafka is unreachable at start). */
  async start(): Promise<void> {
    await this.connected();
  }

  /** Resolves when Kafka acked the record; rejects with a 4101 ChatError by `deadline` (epoch ms) at the latest. */
  send(topic: string, message: Message, deadline: number): Promise<void> {
    return this.sendAll(topic, [message], deadline);
  }

  /**
   * `send` for records that must stay in order: they go in one request (so in the order given per
   * partition), and a failure fails them all; records of another call never come between them.
   */
  sendAll(topic: string, messages: Message[], deadline: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const now = Date.now();
      const bytes = messages.reduce((n, m) => n + sizeOf(m), 0);
      if (this.closed) return reject(notWritten('shutting down'));
      if (deadline <= now) return reject(notWritten('deadline passed'));
      if (!this.breaker.allows()) return reject(notWritten('circuit open after repeated failures'));
      if (this.queuedMessages + messages.length > this.opts.maxQueuedMessages || this.queuedBytes + bytes > this.opts.maxQueuedBytes) {
        return reject(notWritten('send queue full'));
      }
      const w: Waiting = {
        topic,
        messages,
        bytes,
        deadline,
        state: 'queued',
        resolve,
        reject,
        timer: setTimeout(() => this.expire(w), deadline - now),
      };
      this.queue.push(w);
      this.queuedMessages += messages.length;
      this.queuedBytes += bytes;
      if (!this.flushing) void this.flush();
    });
  }

  /** Refuses what is queued and disconnects the producer. */
  async close(): Promise<void> {
    this.closed = true;
    this.failQueued('shutting down');
    const p = this.producer;
    this.producer = undefined;
    await p?.disconnect().catch(() => undefined);
  }

  private expire(w: Waiting): void {
    if (w.state === 'queued') {
      this.dequeue(w);
      this.settle(w, notWritten('deadline passed while queued'));
    } else if (w.state === 'sent') {
      this.settle(w, outcomeUnknown('deadline passed while the write was in flight'));
    }
  }

  private dequeue(w: Waiting): void {
    const i = this.queue.indexOf(w);
    if (i >= 0) {
      this.queue.splice(i, 1);
      this.queuedMessages -= w.messages.length;
      this.queuedBytes -= w.bytes;
    }
  }

  private settle(w: Waiting, err?: ChatError): void {
    if (w.state === 'done') return;
    w.state = 'done';
    clearTimeout(w.timer);
    if (err) w.reject(err);
    else w.resolve();
  }

  private failQueued(why: string): void {
    const queued = this.queue;
    this.queue = [];
    this.queuedMessages = 0;
    this.queuedBytes = 0;
    for (const w of queued) this.settle(w, notWritten(why));
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    try {
      while (this.queue.length > 0 && !this.closed) {
        if (!this.breaker.tryAcquire()) {
          this.failQueued('circuit open after repeated failures');
          break;
        }
        let producer: Producer;
        try {
          producer = await this.connected();
        } catch (err) {
          this.breaker.failure();
          this.log.warn({ err }, 'kafka producer could not connect');
          continue; // queued sends keep their deadlines; the breaker bounds the retries
        }
        await this.writeBatch(producer);
      }
    } finally {
      this.flushing = false;
    }
  }

  private async writeBatch(producer: Producer): Promise<void> {
    const batch = this.takeBatch();
    if (batch.length === 0) {
      this.breaker.success(); // nothing to probe with: the connect itself worked
      return;
    }
    const byTopic = new Map<string, Message[]>();
    for (const w of batch) {
      w.state = 'sent';
      for (const m of w.messages) pushTo(byTopic, w.topic, m);
    }
    // The batch is abandoned when the last of its callers has been answered: the next batch must
    // not wait behind a request nobody waits for any more.
    const lastDeadline = Math.max(...batch.map((w) => w.deadline));
    let giveUp: NodeJS.Timeout | undefined;
    const abandoned = new Promise<never>((_, reject) => {
      giveUp = setTimeout(() => reject(new Error('no confirmation before the last deadline of the batch')), Math.max(0, lastDeadline - Date.now()));
    });
    const write = producer.sendBatch({ acks: -1, topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })) });
    write.catch(() => undefined); // may settle after being abandoned
    try {
      await Promise.race([write, abandoned]);
      this.breaker.success();
      for (const w of batch) this.settle(w);
    } catch (err) {
      this.breaker.failure();
      const why = describe(err);
      for (const w of batch) this.settle(w, outcomeUnknown(why));
      this.replace(producer, why);
    } finally {
      clearTimeout(giveUp);
    }
  }

  /** Whole groups from the head of the queue, up to maxBatch records and maxBatchBytes (at least one group). */
  private takeBatch(): Waiting[] {
    let [count, bytes, n] = [0, 0, 0];
    const fits = (w: Waiting) => count + w.messages.length <= this.opts.maxBatch && bytes + w.bytes <= this.opts.maxBatchBytes;
    while (n < this.queue.length && (n === 0 || fits(this.queue[n]!))) {
      count += this.queue[n]!.messages.length;
      bytes += this.queue[n++]!.bytes;
    }
    const batch = this.queue.splice(0, n);
    for (const w of batch) {
      this.queuedMessages -= w.messages.length;
      this.queuedBytes -= w.bytes;
    }
    return batch;
  }

  /** The connected producer, creating and connecting one if there is none. */
  private async connected(): Promise<Producer> {
    if (this.producer) return this.producer;
    const producer = this.createProducer();
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        producer.connect(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`connect took over ${this.opts.connectTimeoutMs} ms`)), this.opts.connectTimeoutMs);
        }),
      ]);
    } catch (err) {
      void producer.disconnect().catch(() => undefined);
      throw err;
    } finally {
      clearTimeout(timer);
    }
    if (this.closed) {
      await producer.disconnect().catch(() => undefined);
      throw new Error('closed');
    }
    this.producer = producer;
    return producer;
  }

  /** Drops a producer whose sequence state can no longer be trusted; the next batch gets a new one. */
  private replace(producer: Producer, why: string): void {
    if (this.producer === producer) this.producer = undefined;
    this.log.warn({ reason: why, fatal: isFatalForProducer(why) }, 'kafka batch failed; replacing the producer (new producer id)');
    void producer.disconnect().catch(() => undefined);
  }
}

/** Broker errors after which an idempotent producer's id/sequence state is unusable. */
const FATAL_FOR_PRODUCER = ['OUT_OF_ORDER_SEQUENCE_NUMBER', 'UNKNOWN_PRODUCER_ID', 'INVALID_PRODUCER_EPOCH'];

export function isFatalForProducer(reason: string): boolean {
  return FATAL_FOR_PRODUCER.some((t) => reason.includes(t));
}

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const type = (err as { type?: unknown }).type;
  const cause = (err as { originalError?: unknown }).originalError;
  const inner = cause instanceof Error ? `: ${describe(cause)}` : '';
  return `${err.name}${typeof type === 'string' ? ` ${type}` : ''}: ${err.message}${inner}`;
}
