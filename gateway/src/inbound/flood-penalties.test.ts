import { describe, expect, it } from 'vitest';
import { FloodPenalties } from './flood-penalties.js';

describe('FloodPenalties', () => {
  it('hostile input: a penalized user waits until the penalty ends; others never wait; expired entries go', () => {
    const p = new FloodPenalties();
    p.penalize('mallory', 10_000, 1_000);
    expect(p.waitMs('mallory', 4_000)).toBe(6_000);
    expect(p.waitMs('alice', 4_000)).toBe(0);
    p.penalize('mallory', 8_000, 5_000); // never shortened
    expect(p.waitMs('mallory', 9_999)).toBe(1);
    expect(p.waitMs('mallory', 10_000)).toBe(0);
    p.penalize('eve', 30_000, 20_000);
    expect(p.waitMs('eve', 20_000)).toBe(10_000);
  });
});
