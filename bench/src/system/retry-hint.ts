/**
 * Retrying what the server says may be retried (a 503, or an error body with `retry: true`, such
 * as chat-service's 4101 `unavailable` while a Cassandra circuit is open, or 4100 `rate_limited`),
 * with exponential backoff and full jitter, never sooner than the server's hint.
 */
export interface RetryPolicy {
  /** Attempts in all, the first included. @default 8 */
  attempts: number;
  /** Ceiling of the first retry's wait; doubles per retry. @default 250 */
  baseMs: number;
  /** Largest ceiling. @default 10000 */
  capMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { attempts: 8, baseMs: 250, capMs: 10_000 };

/** How long the server asked us to wait (0: no hint), or undefined when the answer is final. */
export function retryHintMs(status: number, retryAfterHeader: string | null, bodyText: string): number | undefined {
  let body: { error?: { retry?: unknown; retry_after_ms?: unknown } } | undefined;
  try {
    body = JSON.parse(bodyText) as typeof body;
  } catch {
    body = undefined;
  }
  const error = body?.error;
  const retriable = status === 503 || error?.retry === true;
  if (!retriable) return undefined;
  if (typeof error?.retry_after_ms === 'number' && error.retry_after_ms > 0) return error.retry_after_ms;
  const seconds = Number(retryAfterHeader);
  return retryAfterHeader !== null && Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : 0;
}

/** The wait before retry number `retry` (0 for the first): full jitter under an exponential ceiling, at least `hintMs`. */
export function retryDelayMs(retry: number, hintMs: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** retry);
  return Math.max(hintMs, Math.floor(random() * ceiling));
}
