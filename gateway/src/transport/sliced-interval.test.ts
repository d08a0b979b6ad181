import { afterEach, describe, expect, it, vi } from 'vitest';
import { inSlice, sliceCount, sliceOf, startSlicedInterval } from './sliced-interval.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('sliced interval', () => {
  it('cuts an interval into one slice per second, at least one', () => {
    expect(sliceCount(20_000)).toBe(20);
    expect(sliceCount(1000)).toBe(1);
    expect(sliceCount(300)).toBe(1);
  });

  it('puts a key in the same slice every time and spreads many keys evenly', () => {
    const keys = Array.from({ length: 20_000 }, (_, i) => `c${i}-${(i * 7919).toString(36)}`);
    const counts = new Array<number>(20).fill(0);
    for (const k of keys) {
      const s = sliceOf(k, 20);
      expect(sliceOf(k, 20)).toBe(s);
      counts[s]!++;
    }
    for (const n of counts) expect(n).toBeGreaterThan(800);
    for (const n of counts) expect(n).toBeLessThan(1200);
  });

  it('visits every key once per interval, a slice per step', () => {
    vi.useFakeTimers();
    const keys = Array.from({ length: 500 }, (_, i) => `user-${i}`);
    const seen: string[][] = [];
    const stop = startSlicedInterval(5000, (slice, slices) => {
      seen.push([...inSlice(keys, (k) => k, slice, slices)]);
      return true;
    });
    vi.advanceTimersByTime(5000);
    stop();
    expect(seen).toHaveLength(5);
    expect(seen.flat().sort()).toEqual([...keys].sort());
    for (const part of seen) expect(part.length).toBeLessThan(keys.length / 2);
  });

  it('offers the same slice again when a pass could not run', () => {
    vi.useFakeTimers();
    const offered: number[] = [];
    let busy = true;
    const stop = startSlicedInterval(3000, (slice) => {
      offered.push(slice);
      if (busy) {
        busy = false;
        return false;
      }
      return true;
    });
    vi.advanceTimersByTime(4000);
    stop();
    expect(offered).toEqual([0, 0, 1, 2]);
  });
});
