/**
 * Rate limits (fixed windows). Two roles:
 *
 * - `RateLimiter`: asked per request and awaited; the answer is exact across processes (a shared
 *   store) — for rare, expensive requests (group creation, presence subscriptions).
 * - `InstantRateLimiter`: answered synchronously from this process's memory, so the hot path
 *   (every send, upgrade, REST request) gains no store round trip; consumption is reported to the
 *   shared store in the background and a key found over the limit there is refused here too.
 *
 * Both answer with the ms until a retry can succeed (0 = allowed), never reject, and keep limiting
 * per process when the shared store is unavailable.
 */
export interface RateLimiter {
  /** Takes `points` (default 1) for `key`: resolves 0 when allowed, else ms until a retry can succeed. Refused attempts count too. */
  consume(key: string, points?: number): Promise<number>;
}

export interface InstantRateLimiter {
  /** Takes `points` (default 1) for `key`: 0 when allowed, else ms until a retry can succeed (nothing taken). */
  take(key: string, points?: number): number;
  /** Stops the background reporting; later takes are decided locally only. */
  close(): void;
}
