import type { Logger } from '@chat/server/logger';
import type { SessionRegistry } from '@chat/server/routing';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startSessionRefresher } from './session-refresher.js';

const silent = { warn: () => {}, child: () => silent } as unknown as Logger;

/** Records each refresh's connection ids; `stall` makes refreshes hang until released. */
function fakeRegistry() {
  const refreshes: string[][] = [];
  let stall: Promise<void> | undefined;
  const registry = {
    refresh: async (_gatewayId: string, connections: Iterable<readonly [string, string]>) => {
      refreshes.push([...connections].map(([, id]) => id));
      await stall;
    },
  } as unknown as SessionRegistry;
  return { registry, refreshes, stallUntil: (p: Promise<void>) => (stall = p) };
}

const connections = Array.from({ length: 2000 }, (_, i) => [`u${i % 700}`, `conn-${i}`] as const);

afterEach(() => {
  vi.useRealTimers();
});

describe('session refresher', () => {
  it('refreshes everything at start, then every connection once per interval, a slice per second (never all at once)', async () => {
    vi.useFakeTimers();
    const { registry, refreshes } = fakeRegistry();
    const stop = startSessionRefresher(registry, 'gw', () => connections, { intervalMs: 20_000, ttlMs: 60_000, onLapse: () => {} }, silent);
    expect(refreshes[0]).toHaveLength(connections.length);
    await vi.advanceTimersByTimeAsync(20_000);
    stop();
    const slices = refreshes.slice(1);
    expect(slices).toHaveLength(20);
    expect(slices.flat().sort()).toEqual(connections.map(([, id]) => id).sort());
    for (const s of slices) expect(s.length).toBeLessThan(200);
  });

  it('reports a lapse once a pause outlasts what the oldest slice had left of its TTL, and not before', async () => {
    vi.useFakeTimers();
    const { registry, stallUntil } = fakeRegistry();
    const onLapse = vi.fn();
    const stop = startSessionRefresher(registry, 'gw', () => connections, { intervalMs: 20_000, ttlMs: 60_000, onLapse }, silent);
    /** Redis hangs for `ms` from the next step on; the step after it is released runs again. */
    const hang = async (ms: number) => {
      let release!: () => void;
      stallUntil(new Promise<void>((r) => (release = r)));
      await vi.advanceTimersByTimeAsync(1000);
      stallUntil(Promise.resolve());
      await vi.advanceTimersByTimeAsync(ms - 1000);
      release();
      await vi.advanceTimersByTimeAsync(1000);
    };
    await vi.advanceTimersByTimeAsync(3000);
    // A 40 s hang: the slice refreshed one interval before it still had 40 s and a step left.
    await hang(40_000);
    expect(onLapse).not.toHaveBeenCalled();
    // A 46 s hang outlasts that.
    await hang(46_000);
    stop();
    expect(onLapse).toHaveBeenCalledTimes(1);
  });
});
