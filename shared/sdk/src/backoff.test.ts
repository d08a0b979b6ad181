import { describe, expect, it } from 'vitest';
import { Backoff, backoffCeiling, fullJitterDelay } from './backoff.js';

describe('full-jitter backoff', () => {
  it('stays within [0, min(cap, base * 2^n)] for every attempt', () => {
    for (let n = 0; n < 40; n++) {
      const ceiling = Math.min(10_000, 250 * 2 ** n);
      expect(backoffCeiling(n, 250, 10_000)).toBe(ceiling);
      for (const r of [0, 0.25, 0.5, 0.999999]) {
        const d = fullJitterDelay(n, { baseMs: 250, capMs: 10_000, random: () => r });
        expect(d).toBeGreaterThanOrEqual(0);
        expect(d).toBeLessThanOrEqual(ceiling);
      }
      for (let i = 0; i < 50; i++) {
        const d = fullJitterDelay(n);
        expect(d).toBeGreaterThanOrEqual(0);
        expect(d).toBeLessThanOrEqual(ceiling);
      }
    }
  });

  it('is deterministic with an injected random', () => {
    const a = new Backoff({ baseMs: 100, capMs: 1000, random: () => 0.5 });
    expect([a.next(), a.next(), a.next(), a.next(), a.next(), a.next()]).toEqual([50, 100, 200, 400, 500, 500]);
    expect(a.attempts).toBe(6);
    a.reset();
    expect(a.attempts).toBe(0);
    expect(a.next()).toBe(50);
  });

  it('uses the documented defaults (base 250 ms, cap 10 s)', () => {
    expect(fullJitterDelay(0, { random: () => 0.999999 })).toBeLessThanOrEqual(250);
    expect(fullJitterDelay(0, { random: () => 0.999999 })).toBeGreaterThan(240);
    expect(fullJitterDelay(30, { random: () => 0.999999 })).toBeGreaterThan(9_990);
    expect(fullJitterDelay(1000, { random: () => 0.999999 })).toBeLessThanOrEqual(10_000);
  });
});
