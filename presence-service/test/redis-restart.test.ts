import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PresenceHarness, TEST_TIMINGS, freePort, waitFor } from './support/harness.js';

// This file owns its Redis: it kills and restarts it, never the shared one.
let port: number;
let redisProc: ChildProcess | undefined;
let h: PresenceHarness;

async function startRedis(): Promise<void> {
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  redisProc = proc;
  await waitFor(
    async () => {
      if (proc.exitCode !== null) throw new Error('redis-server exited');
      const { Redis } = await import('ioredis');
      const probe = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      probe.on('error', () => undefined);
      try {
        await probe.connect();
        return (await probe.ping()) === 'PONG';
      } catch {
        return false;
      } finally {
        probe.disconnect();
      }
    },
    5000,
    'redis-server',
  );
}

async function killRedis(): Promise<void> {
  const proc = redisProc;
  if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGKILL');
  await exited;
}

beforeAll(async () => {
  port = await freePort();
  await startRedis();
  h = new PresenceHarness(`redis://127.0.0.1:${port}`);
  await h.start();
});
afterAll(async () => {
  await h?.close();
  await killRedis();
});

describe('presence survives a Redis restart', () => {
  it('rebuilds presence from heartbeats within one TTL and nothing crashes', async () => {
    const gw1 = await h.gateway('r1');
    const gw2 = await h.gateway('r2');
    const alice = h.user('alice');
    const bob = h.user('bob');
    const conv = await h.conversation([alice, bob]);
    await h.connect(gw1, alice);
    const b = await h.connect(gw2, bob);
    const online = async (): Promise<boolean> => {
      const r = await b.request({ type: 'presence.sub', user_ids: [alice] });
      return r.type === 'presence' && r.users[0]?.online === true;
    };
    await waitFor(online, 5000, 'alice online');

    await killRedis();
    // While Redis is down, requests fail with a retryable error instead of crashing anything.
    const during = await b.request({ type: 'presence.sub', user_ids: [alice] });
    expect(during.type === 'error' ? during.retry : true).toBe(true);
    await startRedis();
    const t0 = Date.now();

    await waitFor(online, Number(TEST_TIMINGS.PRESENCE_TTL_SECONDS) * 1000, 'alice online again within one TTL');
    expect(Date.now() - t0).toBeLessThanOrEqual(Number(TEST_TIMINGS.PRESENCE_TTL_SECONDS) * 1000);
    expect(gw1.child.exitCode).toBeNull();
    expect(gw2.child.exitCode).toBeNull();

    // The presence-service keeps answering after the restart too.
    const again = await b.request({ type: 'presence.sub', user_ids: [alice] });
    expect(again).toMatchObject({ type: 'presence', users: [{ user_id: alice, online: true }] });
    void conv;
  });
});
