import { describe, expect, it } from 'vitest';
import { CircuitBreaker } from './circuit-breaker.js';

describe('CircuitBreaker', () => {
  it('item 14: opens after consecutive failures, refuses during the cool-down, lets one probe through, closes on its success', () => {
    let now = 0;
    const changes: string[] = [];
    const b = new CircuitBreaker('redis', { failureThreshold: 3, cooldownMs: 100, now: () => now }, (s) => changes.push(s));
    b.failure();
    b.failure();
    b.success(); // not consecutive
    b.failure();
    b.failure();
    expect(b.state).toBe('closed');
    b.failure();
    expect(b.state).toBe('open');
    expect(b.tryAcquire()).toBe(false);
    now = 100;
    expect(b.tryAcquire()).toBe(true);
    expect(b.tryAcquire()).toBe(false); // one probe at a time
    b.failure(); // the probe failed: another cool-down
    expect(b.state).toBe('open');
    now = 200;
    expect(b.tryAcquire()).toBe(true);
    b.success();
    expect(b.state).toBe('closed');
    expect(changes).toEqual(['open', 'half-open', 'open', 'half-open', 'closed']);
  });

  it('run() counts only the failures the classifier names', async () => {
    const b = new CircuitBreaker('cassandra', { failureThreshold: 1 });
    const refusal = () => new Error('open');
    await expect(
      b.run(
        () => Promise.reject(new Error('not a member')),
        () => false,
        refusal,
      ),
    ).rejects.toThrow('not a member');
    expect(b.state).toBe('closed');
    await expect(
      b.run(
        () => Promise.reject(new Error('down')),
        () => true,
        refusal,
      ),
    ).rejects.toThrow('down');
    await expect(
      b.run(
        () => Promise.resolve(1),
        () => true,
        refusal,
      ),
    ).rejects.toThrow('open');
  });
});
