import { ChatRequestError } from '@chat/sdk';

/** Attempts of a REST call the server refused with `retry: true` (e.g. 503 unavailable, 429). */
const ATTEMPTS = 5;
const BASE_DELAY_MS = 300;

/**
 * Runs `call` again after a temporary refusal (an error whose registry entry says retrying helps),
 * waiting the server's `retry_after_ms` or a doubling delay; anything else is thrown at once.
 */
export async function withRetry<T>(call: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      if (!(err instanceof ChatRequestError) || !err.retry || attempt >= ATTEMPTS) throw err;
      const delay = err.retryAfterMs ?? BASE_DELAY_MS * 2 ** (attempt - 1) * (0.5 + Math.random() / 2);
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}
