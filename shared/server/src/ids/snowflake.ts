import { parseCanonicalId } from '@chat/protocol';

/**
 * Snowflake-style 64-bit ids: 41 bits of milliseconds since EPOCH_MS, 10 bits of worker id,
 * 12 bits of per-millisecond counter. Time-ordered per worker; unique across workers as long as
 * worker ids are unique. Returned as decimal strings (JSON cannot carry 64-bit integers).
 */
export const ID_EPOCH_MS = 1_767_225_600_000; // 2026-01-01T00:00:00Z

/** Where the worker id comes from when it is leased: `current()` throws when no id is proven (see WorkerIdLease). */
export interface WorkerIdSource {
  current(): number;
}

export class SnowflakeIds {
  private lastMs = -1;
  private counter = 0;

  constructor(
    private readonly worker: number | WorkerIdSource,
    private readonly now: () => number = Date.now,
  ) {
    if (typeof worker === 'number') checkWorkerId(worker);
  }

  /** A new id; throws (retriable UNAVAILABLE) when the worker id is leased and not proven right now. */
  next(): string {
    const workerId = typeof this.worker === 'number' ? this.worker : checkWorkerId(this.worker.current());
    let ms = this.now() - ID_EPOCH_MS;
    if (ms < this.lastMs) ms = this.lastMs; // clock went back: stay monotonic
    if (ms === this.lastMs) {
      this.counter = (this.counter + 1) & 0xfff;
      if (this.counter === 0) ms = this.lastMs + 1; // counter exhausted: borrow the next millisecond
    } else {
      this.counter = 0;
    }
    this.lastMs = ms;
    return ((BigInt(ms) << 22n) | (BigInt(workerId) << 12n) | BigInt(this.counter)).toString();
  }
}

function checkWorkerId(workerId: number): number {
  if (!Number.isInteger(workerId) || workerId < 0 || workerId > 1023) throw new RangeError(`workerId must be 0..1023, got ${workerId}`);
  return workerId;
}

/** The creation time encoded in an id. */
export function idTimestamp(id: string): number {
  return Number(BigInt(id) >> 22n) + ID_EPOCH_MS;
}

/** A canonical 64-bit id (see parseCanonicalId). */
export function isSnowflake(value: string): boolean {
  return parseCanonicalId(value) === value;
}
