import { ChatError, Errors } from '@chat/protocol';

export interface BatchQueueOptions<I> {
  /** Batches out at once: the fewer, the more each carries under load. */
  maxInFlight: number;
  /** Most weight one batch carries (a heavier single item still goes, alone). */
  maxBatchWeight: number;
  /** An item's weight. @default 1 per item */
  weight?: (item: I) => number;
  /** An item still waiting this long is refused with 4101, never sent. */
  queueTimeoutMs: number;
  /** Items waiting at once; beyond it a new item is refused with 4101 at once. @default unbounded */
  maxWaiting?: number;
  /** Names the service in refusals, e.g. "chat-service". */
  service: string;
}

/** Sends one batch: one result per item, in order; an Error in a slot fails that item only. Throwing fails them all. */
export type SendItems<I, R> = (items: I[]) => Promise<(R | Error)[]>;

interface Waiting<I, R> {
  item: I;
  expiresAt: number;
  resolve: (result: R) => void;
  reject: (err: unknown) => void;
}

/** How long a caller refused here is asked to wait before retrying. */
const RETRY_AFTER_MS = 1000;

/**
 * Coalesces the requests of all sockets into batch requests to one backend: what arrives in one
 * event-loop turn, or while `maxInFlight` batches are out, goes in the next batch. Idle items
 * leave at once (no timer); under load one request carries many, so the backend shares their
 * reads, and a storm waits here in arrival order instead of in the backend, where the last would
 * wait out their HTTP timeout, be retried by their clients and add the same work again.
 *
 * Bounds: an item waits at most `queueTimeoutMs` (one timer, for the oldest: all wait equally
 * long) and at most `maxWaiting` wait at once; both refusals are 4101 with a retry-after hint.
 * An item that was sent gets its batch's result or error.
 */
export class BatchQueue<I, R> {
  private waiting: Waiting<I, R>[] = [];
  private head = 0;
  private inFlight = 0;
  private scheduled = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly weight: (item: I) => number;

  constructor(
    private readonly sendItems: SendItems<I, R>,
    private readonly opts: BatchQueueOptions<I>,
  ) {
    this.weight = opts.weight ?? (() => 1);
  }

  /** Items waiting to be sent (for tests and metrics). */
  get queued(): number {
    return this.waiting.length - this.head;
  }

  submit(item: I): Promise<R> {
    if (this.queued >= (this.opts.maxWaiting ?? Number.POSITIVE_INFINITY)) return Promise.reject(this.busy('too many requests waiting'));
    return new Promise<R>((resolve, reject) => {
      this.waiting.push({ item, expiresAt: Date.now() + this.opts.queueTimeoutMs, resolve, reject });
      this.schedule();
      this.armTimer();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight >= this.opts.maxInFlight || this.queued === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  private async flush(): Promise<void> {
    const batch = this.take();
    if (batch.length === 0) return;
    this.inFlight++;
    this.schedule(); // more than one batch's worth waiting: start the next one too
    try {
      const results = await this.sendItems(batch.map((w) => w.item));
      batch.forEach((w, i) => {
        const result = results[i];
        if (result instanceof Error) w.reject(result);
        else if (i < results.length) w.resolve(result as R);
        else w.reject(new ChatError(Errors.INTERNAL, `${this.opts.service} sent too few results`));
      });
    } catch (err) {
      for (const w of batch) w.reject(err);
    } finally {
      this.inFlight--;
      this.schedule();
    }
  }

  /** The oldest items that fit one batch (always at least one); those waiting too long are refused. */
  private take(): Waiting<I, R>[] {
    this.refuseExpired();
    const batch: Waiting<I, R>[] = [];
    let weight = 0;
    while (this.queued > 0) {
      const w = this.waiting[this.head]!;
      const next = this.weight(w.item);
      if (batch.length > 0 && weight + next > this.opts.maxBatchWeight) break;
      batch.push(this.shift());
      weight += next;
    }
    return batch;
  }

  private refuseExpired(): void {
    const now = Date.now();
    while (this.queued > 0 && this.waiting[this.head]!.expiresAt <= now)
      this.shift().reject(this.busy(`${this.opts.service} did not take the request in time`));
  }

  private shift(): Waiting<I, R> {
    const w = this.waiting[this.head++]!;
    // Drop the sent part now and then, not on every item (Array#shift is O(n)).
    if (this.head === this.waiting.length) {
      this.waiting = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.waiting.length) {
      this.waiting = this.waiting.slice(this.head);
      this.head = 0;
    }
    return w;
  }

  /** One timer, due when the oldest waiting item expires. */
  private armTimer(): void {
    if (this.timer || this.queued === 0) return;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.refuseExpired();
        this.armTimer();
      },
      Math.max(0, this.waiting[this.head]!.expiresAt - Date.now()),
    );
    this.timer.unref();
  }

  private busy(why: string): ChatError {
    return new ChatError(Errors.UNAVAILABLE, `${why}; ${this.opts.service} is busy, retry later`, RETRY_AFTER_MS);
  }
}
