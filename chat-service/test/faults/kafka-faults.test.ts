import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startPrivateKafka, type PrivateKafka } from '@chat/testing/private-kafka';
import { startSystem, type TestSystem } from '../support/system.js';
import { faultRun, sleep, type Device } from './support/traffic.js';

// Kafka faults on a PRIVATE broker (never the shared one): SIGKILL during sends, and a controlled
// restart under the running consumers. The sequencer runs in the chat-service process.
let kafka: PrivateKafka;
let sys: TestSystem;
let devices: Device[] = [];

beforeAll(async () => {
  kafka = await startPrivateKafka();
  // Kafka outages make every client log loudly; TEST_LOG_LEVEL=warn shows it.
  sys = await startSystem(2, { env: { KAFKA_BROKERS: kafka.brokers.join(','), LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'fatal' } });
}, 240_000);

afterEach(() => {
  for (const d of devices) d.client.close();
  devices = [];
});

afterAll(async () => {
  await sys?.close();
  await kafka?.destroy();
});

describe('Kafka faults (private broker)', () => {
  it('G1/G2/G3 under SIGKILL of Kafka during sends and a restart 3 s later: no acked message lost, none shown twice or reordered', async () => {
    const run = await faultRun(sys, {
      name: 'SIGKILL Kafka during sends',
      recoveryLabel: 'every sender acked again after the restarted broker was up, in',
      fault: async () => {
        await kafka.kill();
        await sleep(3_000);
        await kafka.restart();
        return Date.now();
      },
    });
    devices = run.devices;
    expect(run.result.violations).toEqual([]);
    expect(run.result).toMatchObject({ lost: 0, duplicated: 0, reordered: 0, gaps: 0, undelivered: 0, unexplained: 0 });
    expect(run.result.acked).toBeGreaterThan(50);
  }, 240_000);

  it('G2/G3 under a restart of Kafka (controlled shutdown) under running consumers: the sequencer resumes from its committed offsets', async () => {
    const run = await faultRun(sys, {
      name: 'restart Kafka under running consumers',
      recoveryLabel: 'every sender acked again after the restarted broker was up, in',
      fault: async () => {
        await kafka.stop();
        await kafka.restart();
        return Date.now();
      },
    });
    devices = run.devices;
    expect(run.result.violations).toEqual([]);
    expect(run.result).toMatchObject({ lost: 0, duplicated: 0, reordered: 0, gaps: 0, undelivered: 0, unexplained: 0 });
    expect(run.result.acked).toBeGreaterThan(50);
  }, 240_000);
});
