import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { AckFrame } from '@chat/protocol';
import { spawnService, type ServiceProcess } from '@chat/testing/http-fuzz';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dashboardExprs, metricFamilies, metricNamesIn, ruleExprs, sampleSum } from './support/prometheus-text.js';
import { RawClient } from './support/raw-client.js';
import { freePort, startSystem, waitFor, type TestSystem } from './support/system.js';

const DASHBOARD = new URL('../../deploy/observability/grafana-dashboard.json', import.meta.url);
const ALERTS = new URL('../../deploy/observability/alerts.yml', import.meta.url);
const PRESENCE_MAIN = fileURLToPath(new URL('../../presence-service/dist/main.js', import.meta.url));
const NOTIFIER_MAIN = fileURLToPath(new URL('../../notifier/dist/main.js', import.meta.url));

// Every process of the system (chat-service with all roles, a gateway, presence-service, notifier)
// runs a short conversation; then each internal listener is scraped.
let sys: TestSystem;
let presence: ServiceProcess;
let notifier: ServiceProcess;
let presencePort: number;
let notifierPort: number;
const clients: RawClient[] = [];
const get = async (port: number, path: string) => {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, text: await res.text() };
};

beforeAll(async () => {
  const run = randomBytes(4).toString('hex');
  [presencePort, notifierPort] = [await freePort(), await freePort()];
  sys = await startSystem(1, {
    roles: 'api,sequencer,inbox',
    env: { REDIS_KEY_PREFIX: `obs${run}:`, PRESENCE_SERVICE_URL: `http://127.0.0.1:${presencePort}`, PRESENCE_HTTP_PORT: String(presencePort) },
  });
  const internalReady = (port: number) => async () => (await get(port, '/livez')).status === 200;
  presence = await spawnService(PRESENCE_MAIN, sys.env, internalReady(presencePort), 'presence-service');
  notifier = await spawnService(
    NOTIFIER_MAIN,
    {
      ...sys.env,
      NOTIFIER_INTERNAL_PORT: String(notifierPort),
      NOTIFIER_GROUP_ID: `obs-notifier-${run}`,
      NOTIFIER_DLQ_TOPIC: `chat.notifications.dlq.obs-${run}`,
      NOTIFY_COLLAPSE_WINDOW_MS: '100',
      NOTIFY_ONLINE_GRACE_MS: '100',
    },
    internalReady(notifierPort),
    'notifier',
  );
}, 240_000);

afterAll(async () => {
  for (const c of clients) c.close();
  await notifier?.stop();
  await presence?.stop();
  await sys?.close();
});

describe('observability', () => {
  it('after a short run, every metric the Grafana dashboard and the alert rules use is exported, and the message-path histograms have samples', async () => {
    const [alice, bob] = [`obs-a-${Date.now()}`, `obs-b-${Date.now()}`];
    const created = await sys.rest<{ conversation: { conversation_id: string } }>(alice, 'POST', '/v1/conversations', { kind: 'direct', user_id: bob });
    expect(created.status).toBe(201);
    const conv = created.body.conversation.conversation_id;
    const [a, b] = await Promise.all([RawClient.connect(sys.gateways[0]!.url, sys.token(alice)), RawClient.connect(sys.gateways[0]!.url, sys.token(bob))]);
    clients.push(a, b);
    // At once, so the consumers get batches of several records (see the lag check below).
    const acks = await Promise.all(
      [0, 1, 2, 3, 4].map((i) => a.request<AckFrame>({ type: 'send', conversation_id: conv, client_msg_id: `obs-${i}`, body: `hello ${i}` })),
    );
    expect(acks.map((ack) => ack.type)).toEqual(['ack', 'ack', 'ack', 'ack', 'ack']);
    await waitFor(() => b.messages(conv).length >= 5, 30_000, 'bob to receive the messages');

    const ports = { chat: Number(new URL(sys.chatInternalUrl).port), gateway: sys.gateways[0]!.internalPort, presence: presencePort, notifier: notifierPort };
    const scrape = async () =>
      Object.fromEntries(await Promise.all(Object.entries(ports).map(async ([name, port]) => [name, (await get(port, '/metrics')).text] as const)));
    // Consumer lag is reported after each batch: wait until the sequencer's, inbox writer's and notifier's groups have one.
    const lagOf = (group: string) => new RegExp(`^chat_kafka_consumer_lag\\{.*group="${group}"`, 'm');
    const chatGroups = [sys.config.SEQUENCER_GROUP_ID, sys.config.INBOX_WRITER_GROUP_ID];
    let texts: Record<string, string> = {};
    await waitFor(
      async () => {
        texts = await scrape();
        return (
          chatGroups.every((group) => lagOf(group).test(texts.chat!)) &&
          texts.notifier!.includes('chat_kafka_consumer_lag{') &&
          sampleSum(texts.gateway!, 'chat_sequenced_to_delivered_seconds_count') >= 5
        );
      },
      30_000,
      'consumer lag and delivery samples',
    );

    const families = new Map<string, string>();
    for (const text of Object.values(texts)) for (const [name, type] of metricFamilies(text)) families.set(name, type);
    const used = new Set([...metricNamesIn(dashboardExprs(DASHBOARD), families), ...metricNamesIn(ruleExprs(ALERTS), families)]);
    expect(used.size).toBeGreaterThan(20);
    expect([...used].filter((name) => !families.has(name)).sort()).toEqual([]);

    // One prefix for everything the system defines (the Node.js process metrics keep theirs).
    expect([...families.keys()].filter((n) => !/^(chat_|process_|nodejs_)/.test(n))).toEqual([]);
    // Base units and real samples on the message path.
    expect(sampleSum(texts.gateway!, 'chat_gateway_send_ack_seconds_count')).toBeGreaterThanOrEqual(5);
    expect(sampleSum(texts.chat!, 'chat_kafka_produce_seconds_count', { producer: 'send' })).toBeGreaterThan(0);
    for (const stage of ['checks', 'produce', 'total']) expect(sampleSum(texts.chat!, 'chat_send_stage_seconds_count', { stage })).toBe(5);
    expect(sampleSum(texts.chat!, 'chat_kafka_produce_seconds_count', { producer: 'sequenced' })).toBeGreaterThan(0);
    expect(sampleSum(texts.chat!, 'chat_cassandra_request_seconds_count', { op: 'write', outcome: 'ok' })).toBeGreaterThan(0);
    expect(sampleSum(texts.gateway!, 'chat_gateway_fanout_sockets_count')).toBeGreaterThanOrEqual(5);
    expect(sampleSum(texts.gateway!, 'chat_gateway_connections')).toBe(2);
    expect(sampleSum(texts.gateway!, 'chat_gateway_client_frames_total', { type: 'send' })).toBe(5);
    // Everything was consumed: no group is behind (the lag counts from a batch's last record, not its first).
    await waitFor(
      async () => sampleSum((await scrape()).chat!, 'chat_kafka_consumer_lag', { group: sys.config.SEQUENCER_GROUP_ID }) === 0,
      10_000,
      'the sequencer group at lag 0',
    );
    // Bounded labels: no label value carries an id (users, conversations, messages).
    for (const text of Object.values(texts)) {
      for (const id of [alice, bob, conv]) expect(text).not.toContain(id);
    }
  }, 120_000);

  it('every process answers /livez and /readyz on its internal port, naming the dependencies it checked', async () => {
    const expected: [number, string[]][] = [
      [Number(new URL(sys.chatInternalUrl).port), ['cassandra', 'kafka', 'redis']],
      [sys.gateways[0]!.internalPort, ['redis']],
      [presencePort, ['cassandra', 'redis']],
      [notifierPort, ['cassandra', 'kafka', 'redis']],
    ];
    for (const [port, deps] of expected) {
      expect((await get(port, '/livez')).status, `livez :${port}`).toBe(200);
      const ready = await get(port, '/readyz');
      expect(ready.status, `readyz :${port} ${ready.text}`).toBe(200);
      const body = JSON.parse(ready.text) as { status: string; checks: Record<string, string> };
      expect(body.status).toBe('ready');
      expect(Object.keys(body.checks).sort()).toEqual(deps);
      expect(Object.values(body.checks).every((c) => c === 'ok')).toBe(true);
    }
  });
});
