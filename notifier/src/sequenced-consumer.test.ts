import { describe, expect, it } from 'vitest';
import { dueDelayMs } from './sequenced-consumer.js';

const policy = { windowMs: 3000, onlineGraceMs: 5000, largeGroupMembers: 50, largeGroupWindowMs: 300_000, previews: false };

describe('collapse windows', () => {
  it("an offline member's window closes after the collapse window; an online one's after the grace", () => {
    expect(dueDelayMs(policy, 3, false)).toBe(3000);
    expect(dueDelayMs(policy, 3, true)).toBe(5000);
  });
  it('large groups push at most once per large-group window', () => {
    expect(dueDelayMs(policy, 51, false)).toBe(300_000);
    expect(dueDelayMs(policy, 50, false)).toBe(3000);
  });
});
