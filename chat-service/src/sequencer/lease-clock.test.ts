import { describe, expect, it } from 'vitest';
import { LeaseClock } from './lease-clock.js';
import { OwnershipLostError } from './sequencer.js';

describe('LeaseClock', () => {
  it('item 16: timestamps stay at real time however many owners came before (no generation shift, no overflow)', () => {
    let now = 1_800_000_000_000;
    // 100,000 takeovers in a row: each owner's timestamps are its wall clock, never years ahead.
    let clock!: LeaseClock;
    for (let g = 0; g < 100_000; g++) clock = new LeaseClock(now, now, { now: () => now });
    now = clock.usableAt;
    clock.confirm(now);
    const ts = clock.next();
    expect(ts).toBe(BigInt(now) * 1000n);
    expect(ts < 2n ** 63n).toBe(true);
  });

  it('item 16: every write of a deposed owner is older than any write of the owner that took over', () => {
    let now = 1_000_000;
    const opts = { validityMs: 2000, maxClockSkewMs: 500, now: () => now };
    const old = new LeaseClock(now, now, opts);
    now = old.usableAt;
    old.confirm(now); // last successful confirmation
    const takeoverAt = now + 100;
    now = takeoverAt;
    const fresh = new LeaseClock(takeoverAt, takeoverAt + 5, opts);
    // The deposed owner keeps writing as long as its last confirmation lets it, then must stop.
    const deposed: bigint[] = [];
    for (; ; now += 1) {
      try {
        deposed.push(old.next());
      } catch (err) {
        expect(err).toBeInstanceOf(OwnershipLostError);
        break;
      }
    }
    expect(() => fresh.next()).toThrow(OwnershipLostError); // not usable before the wait
    now = fresh.usableAt;
    fresh.confirm(now);
    const first = fresh.next();
    expect(deposed.every((t) => t < first)).toBe(true);
    // Even with the deposed owner's clock 500 ms ahead, its timestamps stay below.
    expect(BigInt(takeoverAt + 2000 + 500) * 1000n <= first).toBe(true);
  });

  it('item 16: issues strictly increasing timestamps even when the clock stands still or steps back', () => {
    let now = 5_000_000;
    const clock = new LeaseClock(now, now, { now: () => now });
    now = clock.usableAt + 100;
    clock.confirm(now);
    const a = clock.next();
    const b = clock.next();
    now -= 10;
    const c = clock.next();
    expect(a < b && b < c).toBe(true);
  });
});
