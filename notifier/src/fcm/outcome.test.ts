import { describe, expect, it } from 'vitest';
import { classifyFailure, retryDelayMs } from './outcome.js';

describe('push failures', () => {
  it('prunes unregistered and invalid tokens, retries 429/5xx and unreachable, drops other refusals', () => {
    expect(classifyFailure('messaging/registration-token-not-registered')).toBe('prune');
    expect(classifyFailure('messaging/invalid-registration-token')).toBe('prune');
    expect(classifyFailure('messaging/message-rate-exceeded')).toBe('retry');
    expect(classifyFailure('messaging/server-unavailable')).toBe('retry');
    expect(classifyFailure('messaging/internal-error')).toBe('retry');
    expect(classifyFailure(undefined)).toBe('retry');
    expect(classifyFailure('messaging/invalid-argument')).toBe('drop');
  });

  it('backs off exponentially with full jitter up to the cap, never sooner than Retry-After', () => {
    expect(retryDelayMs(1, 100, 10_000, 0, () => 0.999)).toBe(99);
    expect(retryDelayMs(4, 100, 10_000, 0, () => 0.999)).toBe(799);
    expect(retryDelayMs(20, 100, 10_000, 0, () => 0.999)).toBe(9990);
    expect(retryDelayMs(3, 100, 10_000, 0, () => 0)).toBe(0);
    expect(retryDelayMs(1, 100, 10_000, 5000, () => 0.5)).toBe(5000);
  });
});
