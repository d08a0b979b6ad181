/** What to do with a push FCM did not accept, from firebase-admin's error code. */
export type FailureKind = 'prune' | 'retry' | 'drop';

/** The token is gone or not a token: the device must be deleted. */
const PRUNE = new Set(['messaging/registration-token-not-registered', 'messaging/invalid-registration-token', 'messaging/mismatched-credential']);
/** 429 and 5xx answers, and failures to reach FCM at all: try again later. */
const RETRY = new Set([
  'messaging/message-rate-exceeded',
  'messaging/device-message-rate-exceeded',
  'messaging/topics-message-rate-exceeded',
  'messaging/server-unavailable',
  'messaging/internal-error',
  'messaging/unknown-error',
  'messaging/quota-exceeded',
  'app/network-error',
  'app/network-timeout',
]);

export function classifyFailure(code: string | undefined): FailureKind {
  if (code !== undefined && PRUNE.has(code)) return 'prune';
  if (code === undefined || RETRY.has(code)) return 'retry';
  // Another 4xx (a payload FCM refuses, credentials): retrying the same request cannot help.
  return 'drop';
}

/**
 * Delay before attempt `attempts + 1`: exponential backoff with full jitter (uniform between 0 and
 * the cap, which doubles per attempt up to `maxMs`), never sooner than FCM's Retry-After.
 */
export function retryDelayMs(attempts: number, baseMs: number, maxMs: number, retryAfterMs: number, random = Math.random): number {
  const cap = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempts - 1));
  return Math.max(Math.floor(random() * cap), retryAfterMs);
}
