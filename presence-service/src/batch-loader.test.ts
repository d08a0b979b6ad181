import { describe, expect, it } from 'vitest';
import { BatchLoader } from './batch-loader.js';

describe('BatchLoader', () => {
  it('loads the keys asked for in one event-loop turn together, each once, at most maxBatch per load', async () => {
    const loads: string[][] = [];
    const loader = new BatchLoader(async (keys) => {
      loads.push(keys);
      return new Map(keys.map((k) => [k, k.toUpperCase()]));
    }, 2);
    const values = await Promise.all(['a', 'b', 'a', 'c'].map((k) => loader.load(k)));
    expect(values).toEqual(['A', 'B', 'A', 'C']);
    expect(loads).toEqual([['a', 'b'], ['c']]);
    expect(await loader.load('d')).toBe('D');
    expect(loads).toHaveLength(3);
  });

  it('rejects the callers of a failed load and of keys the load left out, and no others', async () => {
    const loader = new BatchLoader(async (keys) => {
      if (keys.includes('bad')) throw new Error('down');
      return new Map(keys.filter((k) => k !== 'missing').map((k) => [k, 1]));
    }, 1);
    const [ok, missing, bad] = await Promise.allSettled([loader.load('ok'), loader.load('missing'), loader.load('bad')]);
    expect(ok).toEqual({ status: 'fulfilled', value: 1 });
    expect(missing.status).toBe('rejected');
    expect(bad.status === 'rejected' && (bad.reason as Error).message).toBe('down');
  });
});
