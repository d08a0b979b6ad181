import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startPrivateCassandra, type PrivateCassandra } from '@chat/testing/private-cassandra';
import { startSystem, type TestSystem } from '../support/system.js';
import { faultRun, sleep, type Device } from './support/traffic.js';

// Cassandra faults on a PRIVATE node (never the shared one; 512 MiB heap): SIGKILL and restart.
let cassandra: PrivateCassandra;
let sys: TestSystem;
let devices: Device[] = [];

beforeAll(async () => {
  cassandra = await startPrivateCassandra();
  // An outage makes every client log loudly; TEST_LOG_LEVEL=warn shows it.
  sys = await startSystem(2, { env: { CASSANDRA_CONTACT_POINTS: cassandra.contactPoints.join(','), LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'fatal' } });
}, 300_000);

afterEach(() => {
  for (const d of devices) d.client.close();
  devices = [];
});

afterAll(async () => {
  await sys?.close();
  await cassandra?.destroy();
});

describe('Cassandra faults (private node)', () => {
  it('G1/G2/G3 under SIGKILL of Cassandra and a restart: acked sends stay acked, sequencing resumes with no gap, nothing shown twice, sends recover within 30 s of the restart', async () => {
    const run = await faultRun(sys, {
      name: 'SIGKILL Cassandra and restart',
      recoveryLabel: 'every sender acked again after the restarted node served CQL, in',
      fault: async () => {
        await cassandra.kill();
        await sleep(3_000);
        await cassandra.restart();
        return Date.now();
      },
      recoveryTimeoutMs: 120_000,
    });
    devices = run.devices;
    expect(run.result.violations).toEqual([]);
    expect(run.result).toMatchObject({ lost: 0, duplicated: 0, reordered: 0, gaps: 0, undelivered: 0, unexplained: 0 });
    expect(run.result.acked).toBeGreaterThan(50);
    // Bounded by the driver's reconnection delay (at most CASSANDRA_RECONNECT_MAX_MS) plus the
    // circuit breaker's cooldown, with room for a loaded machine; the driver's default took 72 s.
    expect(run.recoveryMs).toBeLessThan(30_000);
  }, 300_000);
});
