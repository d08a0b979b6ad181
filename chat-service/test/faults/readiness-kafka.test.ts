import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPrivateKafka, type PrivateKafka } from '@chat/testing/private-kafka';
import { startSystem, waitFor, type TestSystem } from '../support/system.js';

// /readyz follows Kafka on a PRIVATE broker (never the shared one): 503 naming kafka while the
// broker is stopped, 200 again once it is back, without restarting chat-service.
let kafka: PrivateKafka;
let sys: TestSystem;

beforeAll(async () => {
  kafka = await startPrivateKafka();
  sys = await startSystem(0, {
    roles: 'api,sequencer,inbox',
    env: { KAFKA_BROKERS: kafka.brokers.join(','), LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'fatal' },
  });
}, 240_000);

afterAll(async () => {
  await sys?.close();
  await kafka?.destroy();
});

const readyz = async () => {
  const res = await fetch(`${sys.chatInternalUrl}/readyz`);
  return { status: res.status, body: (await res.json()) as { status: string; checks: Record<string, string> } };
};

describe('/readyz follows Kafka (private broker)', () => {
  it('turns 503 naming kafka when the broker stops, and 200 when it is back; /livez stays 200 throughout', async () => {
    expect(await readyz()).toMatchObject({ status: 200, body: { status: 'ready', checks: { kafka: 'ok', redis: 'ok', cassandra: 'ok' } } });

    await kafka.stop();
    let last = await readyz();
    await waitFor(async () => (last = await readyz()).status === 503, 60_000, '/readyz to turn 503');
    expect(last.body.status).toBe('unready');
    expect(last.body.checks.kafka).not.toBe('ok');
    expect(last.body.checks).toMatchObject({ redis: 'ok', cassandra: 'ok' });
    expect((await fetch(`${sys.chatInternalUrl}/livez`)).status).toBe(200);

    await kafka.restart();
    await waitFor(async () => (last = await readyz()).status === 200, 90_000, '/readyz to turn 200 again');
    expect(last.body).toMatchObject({ status: 'ready', checks: { kafka: 'ok' } });
  }, 180_000);
});
