import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { startHeapSettler } from './heap-settler.js';

describe('startHeapSettler', () => {
  let count: number;
  let compactions: number;
  let stop: () => void;

  beforeEach(() => {
    vi.useFakeTimers();
    count = 100;
    compactions = 0;
    stop = startHeapSettler(
      () => count,
      () => compactions++,
      { intervalMs: 1000, minGrowth: 1000 },
    );
  });
  afterEach(() => {
    stop();
    vi.useRealTimers();
  });

  /** Sets the connection count for the next reading and lets one interval pass. */
  const tick = (connections: number) => {
    count = connections;
    vi.advanceTimersByTime(1000);
  };

  it('compacts once a ramp of minGrowth connections has held still for one interval, not during it', () => {
    for (const n of [600, 1100, 1600, 2100]) tick(n);
    expect(compactions).toBe(0);
    tick(2105);
    expect(compactions).toBe(1);
    for (let i = 0; i < 5; i++) tick(2105);
    expect(compactions).toBe(1);
  });

  it('never compacts for growth below minGrowth, however still the count then is', () => {
    tick(900);
    for (let i = 0; i < 5; i++) tick(1099);
    expect(compactions).toBe(0);
  });

  it('counts growth from the lowest count since the last compaction: a reconnect storm after a mass disconnect is a ramp', () => {
    tick(2000);
    tick(2000);
    expect(compactions).toBe(1);
    tick(200);
    tick(200);
    tick(1100);
    tick(1100);
    expect(compactions).toBe(1);
    tick(1300);
    tick(1300);
    expect(compactions).toBe(2);
  });

  it('stops', () => {
    stop();
    tick(5000);
    tick(5000);
    expect(compactions).toBe(0);
  });
});
