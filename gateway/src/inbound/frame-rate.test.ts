import { describe, expect, it } from 'vitest';
import { IGNORED_LIMIT_FACTOR, ignoresFrameLimit, takeFrame } from './frame-rate.js';
import { newSocketData } from '../transport/socket-data.js';

describe('takeFrame', () => {
  it('allows `points` frames per window, then tells how long until the window ends', () => {
    const d = newSocketData('u', 'c', 0);
    const limit = { points: 2, durationSeconds: 1 };
    expect([takeFrame(d, 10_000, limit), takeFrame(d, 10_100, limit), takeFrame(d, 10_400, limit)]).toEqual([0, 0, 600]);
    expect(takeFrame(d, 11_000, limit)).toBe(0);
  });

  it('hostile input: refused frames count, and a connection that keeps sending past IGNORED_LIMIT_FACTOR x the limit in one window is flagged', () => {
    const d = newSocketData('u', 'c', 0);
    const limit = { points: 3, durationSeconds: 1 };
    const waits = Array.from({ length: limit.points * IGNORED_LIMIT_FACTOR }, (_, i) => takeFrame(d, 10_000 + i, limit));
    expect(waits.filter((w) => w === 0)).toHaveLength(limit.points);
    expect(ignoresFrameLimit(d, limit)).toBe(false);
    expect(takeFrame(d, 10_010, limit)).toBeGreaterThan(0);
    expect(ignoresFrameLimit(d, limit)).toBe(true);
    // A new window forgives.
    expect(takeFrame(d, 11_000, limit)).toBe(0);
    expect(ignoresFrameLimit(d, limit)).toBe(false);
  });
});
