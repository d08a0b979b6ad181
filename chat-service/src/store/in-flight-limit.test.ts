import { describe, expect, it } from 'vitest';
import { InFlightLimit } from './sequenced-send-store.js';

describe('InFlightLimit', () => {
  it('keeps at most max calls in flight across callers, and runs every call', async () => {
    const limit = new InFlightLimit(3);
    let active = 0;
    let peak = 0;
    const call = (i: number) =>
      limit.run(async () => {
        peak = Math.max(peak, ++active);
        await new Promise((r) => setTimeout(r, 1 + (i % 3)));
        active--;
        if (i % 7 === 0) throw new Error(`failed ${i}`);
        return i;
      });
    const results = await Promise.allSettled([...Array.from({ length: 20 }, (_, i) => call(i)), ...Array.from({ length: 20 }, (_, i) => call(i + 20))]);
    expect(peak).toBe(3);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(34);
    // A failed call frees its slot: a later call still runs.
    await expect(call(1)).resolves.toBe(1);
  });
});
