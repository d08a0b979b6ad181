import { describe, expect, it } from 'vitest';
import { atMostEvery } from './at-most-every.js';

describe('atMostEvery', () => {
  it('measures once per interval and answers calls in between with the last result', () => {
    let clock = 1000;
    let runs = 0;
    const heap = atMostEvery(
      5000,
      () => ++runs,
      () => clock,
    );
    expect(heap()).toEqual({ value: 1, measuredAt: 1000 });
    clock = 5999;
    expect(heap()).toEqual({ value: 1, measuredAt: 1000 });
    clock = 6000;
    expect(heap()).toEqual({ value: 2, measuredAt: 6000 });
    expect(runs).toBe(2);
  });
});
