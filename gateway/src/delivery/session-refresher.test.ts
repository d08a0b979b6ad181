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
    await vi.advanceTimersByTimeAsync(3000);
    // Redis hangs for 40 s: the slice refreshed one interval before the pause still had 40 s + a step left.
    let release!: () => void;
    stallUntil(new Promise<void>((r) => (release = r)));
    await vi.advanceTimersByTimeAsync(1000);
    stallUntil(Promise.resolve());
    await vi.advanceTimersByTimeAsync(39_000);
    release();
    await vi.advanceTimersByTimeAsync(1000);
    expect(onLapse).not.toHaveBeenCalled();
    // A second hang of 45 s does outlast it.
    stallUntil(new Promise<void>((r) => (release = r)));
    await vi.advanceTimersByTimeAsync(1000);
    stallUntil(Promise.resolve());
    await vi.advanceTimersByTimeAsync(45_000);
    release();
    await vi.advanceTimersByTimeAsync(1000);
    stop();
    expect(onLapse).toHaveBeenCalledTimes(1);
  });
});
