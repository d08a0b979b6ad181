import { describe, expect, it } from 'vitest';
import { takeFrame } from './frame-rate.js';
import { newSocketData } from './socket-data.js';

describe('takeFrame', () => {
  it('allows `points` frames per window, then tells how long until the window ends', () => {
    const d = newSocketData('u', 'c', 0);
    const limit = { points: 2, durationSeconds: 1 };
    expect([takeFrame(d, 10_000, limit), takeFrame(d, 10_100, limit), takeFrame(d, 10_400, limit)]).toEqual([0, 0, 600]);
    expect(takeFrame(d, 11_000, limit)).toBe(0);
  });
});
