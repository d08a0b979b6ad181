import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeviceService } from '@chat/chat-service/devices/device-service';
import { CassandraDeviceStore } from '@chat/chat-service/devices/cassandra-device-store';
import { createCassandra, createKafka, createRedis, createTopicsWithLeaders, redisTargetFromConfig, type CassandraClient, type Kafka, type Producer, type Redis } from '@chat/server/clients';
import { loadConfig, type Config } from '@chat/server/config';
import { createLogger } from '@chat/server/logger';
import { RedisSessionRegistry } from '@chat/server/routing';
import { freePort, waitFor } from '@chat/testing/wait';
import cassandra from 'cassandra-driver';
import { startNotifier, type RunningNotifier } from '../src/app.js';
import { FakeFcm, fcmError } from '../src/dev/fake-fcm.js';
import { createFcmClient, type FcmClient } from '../src/fcm/fcm-app.js';

// The notifier against real Kafka, Cassandra and Redis, sending with the real firebase-admin
// library to a local fake FCM endpoint that records every request and answers as scripted.
// Sequenced records are produced here, in the stream's contract.
const WINDOW_MS = 800;
const MAX_ATTEMPTS = 3;

const run = randomBytes(4).toString('hex');
const uid = (name: string) => `${name}-${randomBytes(3).toString('hex')}`;
const token = () => `tok_${randomBytes(48).toString('base64url')}`;
let config: Config;
let redis: Redis;
let kafka: Kafka;
let db: CassandraClient;
let producer: Producer;
let fake: FakeFcm;
let fcm: FcmClient;
let notifier: RunningNotifier;
let devices: DeviceService;
let convCounter = 0;

beforeAll(async () => {
  fake = new FakeFcm();
  const endpoint = await fake.listen();
  config = loadConfig({
    ...process.env,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
    REDIS_KEY_PREFIX: `n${run}:`,
    KAFKA_TOPIC_SEQUENCED: `chat.messages.sequenced.test-${run}`,
    NOTIFIER_GROUP_ID: `notifier-test-${run}`,
    NOTIFIER_DLQ_TOPIC: `chat.notifications.dlq.test-${run}`,
    NOTIFIER_INTERNAL_PORT: String(await freePort()),
    NOTIFY_COLLAPSE_WINDOW_MS: String(WINDOW_MS),
    NOTIFY_ONLINE_GRACE_MS: String(WINDOW_MS),
    FCM_MAX_ATTEMPTS: String(MAX_ATTEMPTS),
    FCM_RETRY_BASE_MS: '50',
    FCM_RETRY_MAX_MS: '200',
  });
  const log = createLogger('notifier-test', config.LOG_LEVEL);
  redis = createRedis(redisTargetFromConfig(config), log);
  kafka = createKafka(config.KAFKA_BROKERS, `notifier-test-${run}`, log);
  db = createCassandra({ contactPoints: config.CASSANDRA_CONTACT_POINTS, localDataCenter: config.CASSANDRA_LOCAL_DC, keyspace: config.CASSANDRA_KEYSPACE }, log);
  const admin = kafka.admin();
  await admin.connect();
  await createTopicsWithLeaders(admin, [{ topic: config.KAFKA_TOPIC_SEQUENCED, numPartitions: 4, replicationFactor: 1 }]);
  producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  fcm = createFcmClient({ kind: 'local', ...endpoint }, `test-${run}`);
  notifier = await startNotifier(config, log, { redis, kafka, cassandra: db, fcm });
  // A new group starts at the end of the topic: produce only once it owns every partition.
  await waitFor(
    async () => {
      const { groups } = await admin.describeGroups([config.NOTIFIER_GROUP_ID]);
      return groups[0]?.state === 'Stable' && groups[0].members.length > 0;
    },
    30_000,
    'notifier consumer group to be assigned',
  );
  await admin.disconnect();
  devices = new DeviceService(new CassandraDeviceStore(db));
}, 120_000);

afterAll(async () => {
  await notifier?.close();
  await fcm?.close();
  await fake?.close();
  await producer?.disconnect();
  await db?.shutdown();
  redis?.disconnect();
});

/** A group conversation with these members, written as chat-service writes it. */
async function conversation(title: string, members: string[]): Promise<string> {
  const id = (BigInt(Date.now()) * 4096n + BigInt(++convCounter)).toString();
  const long = cassandra.types.Long.fromString(id);
  await db.execute('INSERT INTO conversations (conversation_id, kind, title, created_by, created_at, epoch) VALUES (?, ?, ?, ?, ?, ?)', [long, 'group', title, members[0], new Date(), 'e1'], { prepare: true });
  for (const m of members) {
    await db.execute('INSERT INTO conversation_members (conversation_id, user_id, role, joined_at) VALUES (?, ?, ?, ?)', [long, m, 'member', new Date()], { prepare: true });
  }
  return id;
}

async function device(user: string): Promise<string> {
  const t = token();
  await devices.register(user, { token: t, platform: 'android' });
  return t;
}

async function publish(conversationId: string, sender: string, seqs: number[]): Promise<void> {
  await producer.send({
    topic: config.KAFKA_TOPIC_SEQUENCED,
    acks: -1,
    messages: seqs.map((seq) => ({
      key: conversationId,
      value: JSON.stringify({
        v: 1,
        type: 'sequenced',
        message: { conversation_id: conversationId, message_id: `${seq}${Date.now()}`, seq, epoch: 'e1', sender_id: sender, client_msg_id: `c-${seq}`, body: `secret text ${seq}`, created_at: Date.now() },
      }),
    })),
  });
}

/** Marks `user` online through the routing registry, as a gateway does for a connection. */
async function goOnline(user: string): Promise<void> {
  const registry = new RedisSessionRegistry(redis, { prefix: config.REDIS_KEY_PREFIX, ttlSeconds: 60 });
  const gateway = `gw-test-${run}`;
  await registry.register(user, `${gateway}:${user}`, gateway, 10);
  await registry.refresh(gateway, [[user, `${gateway}:${user}`]]);
}

const settled = async () => {
  // Every due window has been decided once nothing is due or leased any more.
  await waitFor(async () => (await redis.zcard(`${config.REDIS_KEY_PREFIX}notify:due`)) === 0, 20_000, 'every collapse window to be settled');
};

describe('notifier', () => {
  it('an offline member gets one collapsed push for a burst; the online member and the sender get none', async () => {
    const [alice, bob, carol] = [uid('alice'), uid('bob'), uid('carol')];
    const conv = await conversation('Design team', [alice, bob, carol]);
    const [aliceToken, bobPhone, bobTablet, carolToken] = [await device(alice), await device(bob), await device(bob), await device(carol)];
    await goOnline(carol);
    await publish(conv, alice, [1, 2, 3]);
    await waitFor(async () => fake.delivered(bobPhone).length > 0 && fake.delivered(bobTablet).length > 0, 20_000, 'pushes to both of bob\'s devices');
    await settled();
    for (const t of [bobPhone, bobTablet]) {
      const pushes = fake.delivered(t);
      expect(pushes).toHaveLength(1);
      const m = pushes[0]!.message as { data: Record<string, string>; notification: { title: string; body: string }; android: { collapse_key: string } };
      expect(m.data).toMatchObject({ conversation_id: conv, count: '3', last_seq: '3', badge: '3' });
      expect(m.notification).toEqual({ title: 'Design team', body: '3 new messages in Design team' });
      expect(m.android.collapse_key).toBe(conv);
      expect(JSON.stringify(m)).not.toContain('secret text');
    }
    expect(fake.pushes.filter((p) => p.token === aliceToken || p.token === carolToken)).toEqual([]);
  });

  it('a replayed record (at-least-once stream) adds nothing to the window', async () => {
    const [alice, bob] = [uid('alice'), uid('bob')];
    const conv = await conversation('replays', [alice, bob]);
    const bobToken = await device(bob);
    await publish(conv, alice, [1, 2]);
    await publish(conv, alice, [2, 1]);
    await waitFor(async () => fake.delivered(bobToken).length > 0, 20_000, 'a push to bob');
    await settled();
    expect(fake.delivered(bobToken).map((p) => (p.message as { data: { count: string } }).data.count)).toEqual(['2']);
  });

  it('UNREGISTERED removes the token', async () => {
    const [alice, dave] = [uid('alice'), uid('dave')];
    const conv = await conversation('gone', [alice, dave]);
    const [stale, fresh] = [await device(dave), await device(dave)];
    fake.answer = (t) => (t === stale ? fcmError(404, 'UNREGISTERED') : undefined);
    await publish(conv, alice, [1]);
    await waitFor(async () => (await devices.list(dave)).length === 1, 20_000, 'the unregistered token to be deleted');
    expect(fake.delivered(fresh)).toHaveLength(1);
    const rows = await db.execute('SELECT push_token FROM device_tokens WHERE user_id = ?', [dave], { prepare: true });
    expect(rows.rows.map((r) => r.get('push_token'))).toEqual([fresh]);
  });

  it('503 then 200 is retried and delivered once', async () => {
    const [alice, erin] = [uid('alice'), uid('erin')];
    const conv = await conversation('flaky', [alice, erin]);
    const t = await device(erin);
    fake.answer = (tok, attempt) => (tok === t && attempt === 1 ? { ...fcmError(503, 'UNAVAILABLE'), headers: { 'retry-after': '1' } } : undefined);
    await publish(conv, alice, [1]);
    await waitFor(async () => fake.delivered(t).length === 1, 20_000, 'the retried push');
    await settled();
    await waitFor(async () => (await redis.zcard(`${config.REDIS_KEY_PREFIX}notify:retry`)) === 0, 10_000, 'an empty retry queue');
    expect(fake.pushes.filter((p) => p.token === t).map((p) => p.status)).toEqual([503, 200]);
  });

  it('a persistent 500 ends in the dead-letter topic after the last attempt', async () => {
    const [alice, frank] = [uid('alice'), uid('frank')];
    const conv = await conversation('broken', [alice, frank]);
    const t = await device(frank);
    fake.answer = (tok) => (tok === t ? fcmError(500, 'INTERNAL') : undefined);
    const dead: Record<string, unknown>[] = [];
    const consumer = kafka.consumer({ groupId: `dlq-reader-${run}` });
    await consumer.connect();
    await consumer.subscribe({ topic: config.NOTIFIER_DLQ_TOPIC, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void dead.push(JSON.parse(message.value!.toString()) as Record<string, unknown>) });
    try {
      await publish(conv, alice, [1]);
      await waitFor(async () => dead.some((d) => d.user_id === frank), 30_000, 'the dead-lettered push');
      const record = dead.find((d) => d.user_id === frank)!;
      expect(record).toMatchObject({ type: 'push_failed', conversation_id: conv, attempts: MAX_ATTEMPTS, last_error: 'messaging/internal-error' });
      expect(JSON.stringify(record)).not.toContain(t);
      expect(fake.pushes.filter((p) => p.token === t).map((p) => p.status)).toEqual(Array(MAX_ATTEMPTS).fill(500));
    } finally {
      await consumer.disconnect();
    }
  });

  it('reports sent, collapsed, suppressed, failed and pruned in /metrics', async () => {
    const text = await (await fetch(`http://127.0.0.1:${notifier.internalPort}/metrics`)).text();
    for (const name of ['chat_notifier_pushes_sent_total', 'chat_notifier_messages_collapsed_total', 'chat_notifier_suppressed_total{reason="online"', 'chat_notifier_push_failures_total{outcome="retry"', 'chat_notifier_tokens_pruned_total', 'chat_notifier_retry_queue_depth', 'chat_kafka_consumer_lag{']) {
      expect(text).toContain(name);
    }
  });
});
