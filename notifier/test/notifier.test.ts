import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Producer } from '@chat/server/clients';
import { fcmError } from '../src/dev/fake-fcm.js';
import { publishSequenced, startInProcessNotifier, startNotifierSystem, waitFor, type NotifierSystem } from './support/notifier-system.js';
import type { RunningNotifier } from '../src/app.js';
import { RedisKeys } from '@chat/server/redis';

// The notifier against real Kafka, Cassandra and Redis and chat-service's API (recipients' state),
// sending with the real firebase-admin library to a local fake FCM endpoint that records every
// request and answers as scripted. Sequenced records are produced here, in the stream's contract,
// to exercise FCM's answers; push-decisions.test.ts sends real messages.
const WINDOW_MS = 800;
const MAX_ATTEMPTS = 3;

const uid = (name: string) => `${name}-${randomBytes(3).toString('hex')}`;
let ns: NotifierSystem;
let producer: Producer;
let notifier: RunningNotifier;
let stopNotifier: () => Promise<void>;

beforeAll(async () => {
  ns = await startNotifierSystem({
    roles: 'api',
    notifierEnv: {
      NOTIFY_COLLAPSE_WINDOW_MS: String(WINDOW_MS),
      NOTIFY_ONLINE_GRACE_MS: String(WINDOW_MS),
      FCM_MAX_ATTEMPTS: String(MAX_ATTEMPTS),
      FCM_RETRY_BASE_MS: '50',
      FCM_RETRY_MAX_MS: '200',
    },
  });
  producer = ns.sys.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  ({ notifier, close: stopNotifier } = await startInProcessNotifier(ns));
}, 180_000);

afterAll(async () => {
  await stopNotifier?.();
  await producer?.disconnect();
  await ns?.close();
});

const publish = (conversationId: string, sender: string, seqs: number[]) => publishSequenced(ns, producer, conversationId, sender, seqs);

const prefix = () => ns.config.REDIS_KEY_PREFIX;
const settled = async () => {
  // Every due window has been decided once nothing is due or leased any more.
  await waitFor(async () => (await ns.sys.redis.zcard(new RedisKeys(prefix()).notifyDue())) === 0, 20_000, 'every collapse window to be settled');
};

describe('notifier', () => {
  it('a replayed record (at-least-once stream) adds nothing to the window', async () => {
    const [alice, bob] = [uid('alice'), uid('bob')];
    const conv = await ns.group('replays', [alice, bob]);
    const bobToken = await ns.device(bob);
    await publish(conv, alice, [1, 2]);
    await publish(conv, alice, [2, 1]);
    await waitFor(async () => ns.fake.delivered(bobToken).length > 0, 20_000, 'a push to bob');
    await settled();
    expect(ns.fake.delivered(bobToken).map((p) => (p.message as { data: { count: string } }).data.count)).toEqual(['2']);
  });

  it('UNREGISTERED removes the token', async () => {
    const [alice, dave] = [uid('alice'), uid('dave')];
    const conv = await ns.group('gone', [alice, dave]);
    const [stale, fresh] = [await ns.device(dave), await ns.device(dave)];
    ns.fake.answer = (t) => (t === stale ? fcmError(404, 'UNREGISTERED') : undefined);
    await publish(conv, alice, [1]);
    await waitFor(
      async () => (await ns.sys.rest<{ devices: unknown[] }>(dave, 'GET', '/v1/devices')).body.devices.length === 1,
      20_000,
      'the unregistered token to be deleted',
    );
    expect(ns.fake.delivered(fresh)).toHaveLength(1);
    const rows = await ns.sys.cassandra.execute('SELECT push_token FROM device_tokens WHERE user_id = ?', [dave], { prepare: true });
    expect(rows.rows.map((r) => r.get('push_token'))).toEqual([fresh]);
  });

  it('503 then 200 is retried and delivered once', async () => {
    const [alice, erin] = [uid('alice'), uid('erin')];
    const conv = await ns.group('flaky', [alice, erin]);
    const t = await ns.device(erin);
    ns.fake.answer = (tok, attempt) => (tok === t && attempt === 1 ? { ...fcmError(503, 'UNAVAILABLE'), headers: { 'retry-after': '1' } } : undefined);
    await publish(conv, alice, [1]);
    await waitFor(async () => ns.fake.delivered(t).length === 1, 20_000, 'the retried push');
    await settled();
    await waitFor(async () => (await ns.sys.redis.zcard(new RedisKeys(prefix()).notifyRetry())) === 0, 10_000, 'an empty retry queue');
    expect(ns.fake.pushes.filter((p) => p.token === t).map((p) => p.status)).toEqual([503, 200]);
  });

  it('a persistent 500 ends in the dead-letter topic after the last attempt', async () => {
    const [alice, frank] = [uid('alice'), uid('frank')];
    const conv = await ns.group('broken', [alice, frank]);
    const t = await ns.device(frank);
    ns.fake.answer = (tok) => (tok === t ? fcmError(500, 'INTERNAL') : undefined);
    const dead: Record<string, unknown>[] = [];
    const consumer = ns.sys.kafka.consumer({ groupId: `dlq-reader-${randomBytes(4).toString('hex')}` });
    await consumer.connect();
    await consumer.subscribe({ topic: ns.config.NOTIFIER_DLQ_TOPIC, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void dead.push(JSON.parse(message.value!.toString()) as Record<string, unknown>) });
    try {
      await publish(conv, alice, [1]);
      await waitFor(async () => dead.some((d) => d.user_id === frank), 30_000, 'the dead-lettered push');
      const record = dead.find((d) => d.user_id === frank)!;
      expect(record).toMatchObject({ type: 'push_failed', conversation_id: conv, attempts: MAX_ATTEMPTS, last_error: 'messaging/internal-error' });
      expect(JSON.stringify(record)).not.toContain(t);
      expect(ns.fake.pushes.filter((p) => p.token === t).map((p) => p.status)).toEqual(Array(MAX_ATTEMPTS).fill(500));
    } finally {
      await consumer.disconnect();
    }
  });

  it('reports sent, collapsed, suppressed, failed and pruned in /metrics', async () => {
    const text = await (await fetch(`http://127.0.0.1:${notifier.internalPort}/metrics`)).text();
    for (const name of [
      'chat_notifier_pushes_sent_total',
      'chat_notifier_messages_collapsed_total',
      'chat_notifier_suppressed_total',
      'chat_notifier_windows_deferred_total',
      'chat_notifier_push_failures_total{outcome="retry"',
      'chat_notifier_tokens_pruned_total',
      'chat_notifier_retry_queue_depth',
      'chat_kafka_consumer_lag{',
    ]) {
      expect(text).toContain(name);
    }
  });
});
