import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startPrivateRedis, type PrivateRedis } from '@chat/testing/private-redis';
import { startSystem, type TestSystem } from '../support/system.js';
import { faultRun, openDevice, type Device } from './support/traffic.js';

// Redis faults on a PRIVATE Redis (never the shared one): restart with all data lost mid-traffic.
let redis: PrivateRedis;
let sys: TestSystem;
let devices: Device[] = [];

beforeAll(async () => {
  redis = await startPrivateRedis();
  sys = await startSystem(2, { env: { REDIS_URL: redis.url } });
}, 180_000);

afterEach(() => {
  for (const d of devices) d.client.close();
  devices = [];
});

afterAll(async () => {
  await sys?.close();
  await redis?.destroy();
});

describe('Redis faults (private Redis)', () => {
  it('G3/G5 under a Redis restart with its data lost mid-traffic: no seq or message_id reused, nothing lost or shown twice, nobody locked out', async () => {
    const run = await faultRun(sys, {
      name: 'Redis restart with data lost',
      intervalMs: 50,
      fault: async () => {
        await redis.restart();
        return Date.now();
      },
    });
    devices = run.devices;
    expect(run.result.violations).toEqual([]);
    expect(run.result).toMatchObject({ lost: 0, duplicated: 0, reordered: 0, gaps: 0, undelivered: 0, unexplained: 0 });
    expect(run.result.acked).toBeGreaterThan(50);

    // Nobody is locked out: every user connects a second device at once and is served.
    const users = [...new Set(run.devices.map((d) => d.userId))];
    const more = users.map((u) =>
      openDevice(
        sys,
        run.history,
        u,
        sys.gateways.map((g) => g.url),
        [run.conversationId],
      ),
    );
    devices.push(...more);
    await Promise.all(more.map((d) => d.client.connect()));
    const acks = await Promise.all(more.map((d, i) => run.history.send(d.client, d.userId, run.conversationId, `after ${i}`, `after-${i}`)));
    expect(acks.map((a) => a.outcome)).toEqual(more.map(() => 'ok'));
  }, 240_000);
});
