/** Exponential backoff with FULL jitter: delay = random(0, min(cap, base * 2^attempt)). */

/** @default 250 */
export const DEFAULT_BACKOFF_BASE_MS = 250;
/** @default 10_000 */
export const DEFAULT_BACKOFF_CAP_MS = 10_000;

export interface BackoffOptions {
  /** Base delay of the first attempt's window. @default 250 */
  baseMs?: number;
  /** Largest window. @default 10_000 */
  capMs?: number;
  /** Source of randomness in [0, 1). @default Math.random */
  random?: () => number;
}

/** Upper bound of the jitter window for `attempt` (0-based): min(cap, base * 2^attempt). */
export function backoffCeiling(attempt: number, baseMs: number, capMs: number): number {
  const exp = Math.min(Math.max(0, Math.floor(attempt)), 64);
  return Math.min(capMs, baseMs * 2 ** exp);
}

/** A delay drawn uniformly from [0, min(cap, base * 2^attempt)]. */
export function fullJitterDelay(attempt: number, options: BackoffOptions = {}): number {
  const base = options.baseMs ?? DEFAULT_BACKOFF_BASE_MS;
  const cap = options.capMs ?? DEFAULT_BACKOFF_CAP_MS;
  const random = options.random ?? Math.random;
  const ceiling = backoffCeiling(attempt, base, cap);
  const r = Math.min(Math.max(random(), 0), 1);
  return Math.floor(r * ceiling);
}

/** Stateful backoff: each `next()` widens the window until `reset()` (e.g. after a stable connection). */
export class Backoff {
  private attempt = 0;

  constructor(private readonly options: BackoffOptions = {}) {}

  /** Number of delays handed out since the last reset. */
  get attempts(): number {
    return this.attempt;
  }

  next(): number {
    const delay = fullJitterDelay(this.attempt, this.options);
    this.attempt++;
    return delay;
  }

  reset(): void {
    this.attempt = 0;
  }
}
