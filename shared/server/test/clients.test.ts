import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import cassandra from 'cassandra-driver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createCassandra,
  createKafka,
  createRedis,
  createRedisSubscriber,
  createTopicsWithLeaders,
  type CassandraClient,
  type Kafka,
  type Redis,
} from '@chat/server/clients';
import { loadConfig } from '@chat/server/config';
import { createLogger } from '@chat/server/logger';
import { waitFor } from '@chat/testing/wait';

// Round trips through each real component with the project's own client factories.
const config = loadConfig(process.env);
const log = createLogger('test', 'warn');
const run = randomBytes(4).toString('hex');
let redis: Redis;
let kafka: Kafka;
let db: CassandraClient;

beforeAll(() => {
  redis = createRedis(config.REDIS_URL, log);
  kafka = createKafka(config.KAFKA_BROKERS, `test-${run}`, log);
  db = createCassandra(
    { contactPoints: config.CASSANDRA_CONTACT_POINTS, localDataCenter: config.CASSANDRA_LOCAL_DC, keyspace: config.CASSANDRA_KEYSPACE },
    log,
  );
});

afterAll(async () => {
  await db.shutdown();
  redis.disconnect();
});

describe('client factories against the real infrastructure', () => {
  it('Kafka: a record produced with acks=all by an idempotent producer is consumed', async () => {
    const topic = `test.clients.${run}`;
    const admin = kafka.admin();
    await admin.connect();
    await createTopicsWithLeaders(admin, [{ topic, numPartitions: 1 }]);
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    await producer.send({ topic, acks: -1, messages: [{ key: 'k', value: `hello ${run}` }] });
    const consumer = kafka.consumer({ groupId: `test-clients-${run}` });
    const seen: string[] = [];
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void seen.push(message.value?.toString() ?? '') });
    await waitFor(() => seen.length > 0, 30_000, 'the record');
    await Promise.all([consumer.disconnect(), producer.disconnect()]);
    await admin.deleteTopics({ topics: [topic] });
    await admin.disconnect();
    expect(seen).toEqual([`hello ${run}`]);
  });

  it('Cassandra: a row written in the migrated keyspace reads back', async () => {
    const id = cassandra.types.Long.fromString(String(Date.now() * 1000 + Math.floor(Math.random() * 1000)));
    await db.execute(
      'INSERT INTO conversations (conversation_id, kind, title, created_by, created_at, epoch) VALUES (?, ?, ?, ?, ?, ?)',
      [id, 'group', `t ${run}`, 'tester', new Date(), 'e'],
      { prepare: true },
    );
    const row = (await db.execute('SELECT title FROM conversations WHERE conversation_id = ?', [id], { prepare: true })).first();
    await db.execute('DELETE FROM conversations WHERE conversation_id = ?', [id], { prepare: true });
    expect(row?.title).toBe(`t ${run}`);
  });

  it('Redis: a published message reaches a subscriber', async () => {
    const sub = createRedisSubscriber(redis, log);
    const got: string[] = [];
    sub.on('message', (_channel: string, message: string) => got.push(message));
    await sub.subscribe(`test:${run}`);
    await redis.publish(`test:${run}`, 'ping');
    await waitFor(() => got.length > 0, 5000, 'the message');
    sub.disconnect();
    expect(got).toEqual(['ping']);
  });
});

describe('configuration', () => {
  it('a service refuses to start on a bad value and names the variable', () => {
    const main = fileURLToPath(new URL('../../../chat-service/dist/main.js', import.meta.url));
    const res = spawnSync(process.execPath, [main], { env: { ...process.env, CHAT_HTTP_PORT: 'eighty' }, encoding: 'utf8', timeout: 20_000 });
    expect(res.status).toBe(78);
    expect(res.stderr).toContain('CHAT_HTTP_PORT: must be an integer, got "eighty"');
  });
});
