import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Errors, type AckFrame, type ErrorFrame } from '@chat/protocol';
import { INTERNAL_PATHS, INTERNAL_TOKEN_HEADER, type InternalSendBatchResponse } from '@chat/protocol/internal';
import { mintDevToken } from '@chat/server/auth';
import {
  createCassandra,
  createIdempotentProducer,
  createKafka,
  createRedis,
  createRedisSubscriber,
  createTopicsWithLeaders,
  type Kafka,
} from '@chat/server/clients';
import { loadConfig, type Config } from '@chat/server/config';
import { kafkaTopics, toTopicConfigs } from '@chat/server/kafka-topics';
import { createLogger } from '@chat/server/logger';
import { Kafka as KafkaClient, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPrivateKafka, type PrivateKafka } from '@chat/testing/private-kafka';
import { startChatService, type RunningChatService } from '../src/app.js';
import { createS3ObjectStorage, s3SettingsFromConfig } from '../src/attachments/s3-object-storage.js';
import { CircuitBreaker } from '../src/resilience/circuit-breaker.js';
import { BatchingProducer } from '../src/send/batching-producer.js';
import { RawClient } from './support/raw-client.js';
import { freePort, startGateway, waitFor, type GatewayProcess } from './support/system.js';

const log = createLogger('test', 'silent');
let pk: PrivateKafka;
const cleanups: (() => Promise<unknown> | unknown)[] = [];

beforeAll(async () => {
  pk = await startPrivateKafka();
}, 180_000);

afterAll(async () => {
  for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => undefined);
  await pk?.destroy();
});

/** Every record value in `topic` of `kafka`, read from the beginning until `until` holds. */
async function readTopic(kafka: Kafka, topic: string, until: (values: string[]) => boolean): Promise<string[]> {
  const consumer = kafka.consumer({ groupId: `probe-${randomBytes(4).toString('hex')}` });
  const values: string[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void values.push(message.value?.toString() ?? '') });
    await waitFor(() => until(values), 30_000, `records in ${topic}`);
    return values;
  } finally {
    await consumer.disconnect();
  }
}

/** chat-service (API role only) in this process, with `overrides` on top of the test environment. */
async function startApi(
  overrides: NodeJS.ProcessEnv,
): Promise<{ config: Config; env: NodeJS.ProcessEnv; url: string; internalUrl: string; service: RunningChatService }> {
  const run = randomBytes(4).toString('hex');
  const [port, internalPort] = [await freePort(), await freePort()];
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    LOG_LEVEL: 'error',
    REDIS_KEY_PREFIX: `tf${run}:`,
    CHAT_SERVICE_ROLES: 'api',
    CHAT_HTTP_PORT: String(port),
    CHAT_INTERNAL_PORT: String(internalPort),
    CHAT_SERVICE_URL: `http://127.0.0.1:${internalPort}`,
    PRESENCE_SERVICE_URL: '',
    KAFKA_TOPIC_MESSAGES: `chat.messages.faults-${run}`,
    ...overrides,
  };
  const config = loadConfig(env);
  const redis = createRedis(config.REDIS_URL, log);
  const redisSub = createRedisSubscriber(redis, log);
  const kafka = createKafka(config.KAFKA_BROKERS, `faults-${run}`, log);
  const cassandra = createCassandra(
    { contactPoints: config.CASSANDRA_CONTACT_POINTS, localDataCenter: config.CASSANDRA_LOCAL_DC, keyspace: config.CASSANDRA_KEYSPACE },
    log,
  );
  const admin = kafka.admin();
  await admin.connect();
  await createTopicsWithLeaders(
    admin,
    toTopicConfigs(kafkaTopics({ messagesTopic: config.KAFKA_TOPIC_MESSAGES, partitions: 2, replicationFactor: 1, minInsyncReplicas: 1 })),
  );
  await admin.disconnect();
  const s3 = createS3ObjectStorage(s3SettingsFromConfig(config));
  const service = await startChatService(config, log, {
    redis,
    redisSub,
    kafka,
    cassandra,
    createProducer: () => createIdempotentProducer(kafka),
    objects: s3.storage,
  });
  cleanups.push(async () => {
    await Promise.race([service.close(), new Promise((r) => setTimeout(r, 5000))]);
    await cassandra.shutdown();
    s3.close();
    redisSub.disconnect();
    redis.disconnect();
  });
  return { config, env, url: `http://127.0.0.1:${service.publicPort ?? port}`, internalUrl: `http://127.0.0.1:${service.internalPort}`, service };
}

async function createDirect(url: string, config: Config, a: string, b: string): Promise<string> {
  const token = mintDevToken(config.JWT_HS256_SECRET, a, { issuer: config.JWT_ISSUER, audience: config.JWT_AUDIENCE, ttlSeconds: 600 });
  const res = await fetch(`${url}/v1/conversations`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ kind: 'direct', user_id: b }),
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { conversation: { conversation_id: string } }).conversation.conversation_id;
}

describe('send path against a failing Kafka (private broker)', () => {
  it('item 7: after a write with an unknown outcome the producer is replaced, so later acked records are really in Kafka', async () => {
    // Requests time out and are retried once, quickly: kafkajs gives up on a write the broker still holds.
    const kafka = new KafkaClient({
      clientId: 'item7',
      brokers: pk.brokers,
      logLevel: logLevel.NOTHING,
      requestTimeout: 1000,
      retry: { retries: 1, initialRetryTime: 100, maxRetryTime: 200 },
    });
    const topic = `item7-${randomBytes(4).toString('hex')}`;
    const admin = kafka.admin();
    await admin.connect();
    await createTopicsWithLeaders(admin, [{ topic, numPartitions: 1 }]);
    await admin.disconnect();
    const producer = new BatchingProducer(() => createIdempotentProducer(kafka), new CircuitBreaker('kafka', { failureThreshold: 100 }), log);
    cleanups.push(() => producer.close());
    await producer.start();
    await producer.send(topic, { key: 'k', value: 'a' }, Date.now() + 10_000);

    // The broker hangs while a batch is in flight: the write's outcome is unknown.
    pk.pause();
    const unknown = await Promise.allSettled([1, 2, 3].map((i) => producer.send(topic, { key: 'k', value: `b${i}` }, Date.now() + 8000)));
    pk.resume();
    expect(unknown.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(String((unknown[0] as PromiseRejectedResult).reason)).toMatch(/did not confirm the write/);

    // The stuck batch lands once the broker runs again. With the old producer id and its rolled-back
    // sequence numbers, the broker would take the next batch for a duplicate of it: acked, not written.
    const acked = ['c1', 'c2', 'c3'];
    await Promise.all(acked.map((v) => producer.send(topic, { key: 'k', value: v }, Date.now() + 20_000)));
    const values = await readTopic(kafka, topic, (vs) => acked.every((v) => vs.includes(v)));
    expect(values.filter((v) => v === 'a' || v.startsWith('c'))).toEqual(['a', ...acked]);
  });

  it('item 14: with the broker hung, sends at 20/s through a gateway are each answered within SEND_DEADLINE_MS, and none answered "not written" is produced later', async () => {
    const deadlineMs = 1500;
    const api = await startApi({ KAFKA_BROKERS: pk.brokers.join(','), SEND_DEADLINE_MS: String(deadlineMs), BREAKER_COOLDOWN_MS: '500' });
    const gateway: GatewayProcess = await startGateway({ ...api.env, GATEWAY_PORT: '0' }, `tf-gw-${randomBytes(3).toString('hex')}`);
    cleanups.push(() => gateway.stop());
    const [alice, bob] = [`alice-${randomBytes(3).toString('hex')}`, `bob-${randomBytes(3).toString('hex')}`];
    const conv = await createDirect(api.url, api.config, alice, bob);
    const token = mintDevToken(api.config.JWT_HS256_SECRET, alice, { issuer: api.config.JWT_ISSUER, audience: api.config.JWT_AUDIENCE, ttlSeconds: 600 });
    const sockets = [await RawClient.connect(gateway.url, token), await RawClient.connect(gateway.url, token)];
    cleanups.push(() => sockets.forEach((s) => s.close()));
    const first = await sockets[0]!.request<AckFrame>({ type: 'send', conversation_id: conv, client_msg_id: 'before', body: 'before' });
    expect(first.type).toBe('ack');

    pk.pause();
    const answers: { id: string; ms: number; frame: AckFrame | ErrorFrame }[] = [];
    const pending: Promise<void>[] = [];
    for (let i = 0; i < 60; i++) {
      const id = `hung-${i}`;
      const t0 = Date.now();
      pending.push(
        sockets[i % 2]!.request<AckFrame | ErrorFrame>({ type: 'send', conversation_id: conv, client_msg_id: id, body: id }, 10_000).then((frame) => {
          answers.push({ id, ms: Date.now() - t0, frame });
        }),
      );
      await new Promise((r) => setTimeout(r, 50)); // 20 sends/s, paced
    }
    await Promise.all(pending);
    pk.resume();

    const slowest = Math.max(...answers.map((a) => a.ms));
    expect(slowest).toBeLessThanOrEqual(deadlineMs + 300);
    const errors = answers.filter((a): a is { id: string; ms: number; frame: ErrorFrame } => a.frame.type === 'error');
    expect(errors.length).toBe(60);
    for (const e of errors) expect({ code: e.frame.code, retry: e.frame.retry }).toEqual({ code: Errors.UNAVAILABLE.code, retry: true });
    const notWritten = new Set(errors.filter((e) => /not written|not sent|circuit open/.test(e.frame.message)).map((e) => e.id));
    const unknown = errors.filter((e) => !notWritten.has(e.id));
    for (const e of unknown) expect(e.frame.message).toMatch(/did not confirm|did not answer in time/);
    expect(notWritten.size).toBeGreaterThan(0);
    process.stdout.write(
      `item 14: 60 sends with the broker hung: slowest answer ${slowest} ms, ${notWritten.size} not written, ${unknown.length} outcome unknown\n`,
    );

    // After the broker runs again, a new send is written; anything stuck in the broker's sockets
    // from before has been processed by then too. None of the "not written" ones may be there.
    let after: AckFrame | ErrorFrame | undefined;
    await waitFor(
      async () => {
        after = await sockets[0]!.request<AckFrame | ErrorFrame>({ type: 'send', conversation_id: conv, client_msg_id: 'after', body: 'after' });
        return after.type === 'ack';
      },
      30_000,
      'a send to succeed after the broker resumed',
    );
    const kafka = createKafka(pk.brokers, 'item14-probe', log);
    const values = (await readTopic(kafka, api.config.KAFKA_TOPIC_MESSAGES, (vs) => vs.some((v) => v.includes('"client_msg_id":"after"')))).map(
      (v) => (JSON.parse(v) as { client_msg_id: string }).client_msg_id,
    );
    expect(values.filter((id) => notWritten.has(id))).toEqual([]);
    expect(values).toContain('before');
  });
});

describe('send path against an unreachable Redis', () => {
  it('item 14: Redis down answers 4101 UNAVAILABLE with retry (not 4102), within the deadline, then fails fast with the circuit open', async () => {
    const port = await freePort();
    const redisServer: ChildProcess = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
      stdio: 'ignore',
    });
    cleanups.push(() => redisServer.kill('SIGKILL'));
    const redisUrl = `redis://127.0.0.1:${port}`;
    await waitFor(
      async () => {
        const probe = createRedis(redisUrl, log);
        try {
          return (await probe.ping()) === 'PONG';
        } catch {
          return false;
        } finally {
          probe.disconnect();
        }
      },
      10_000,
      'private redis-server',
    );
    const api = await startApi({
      REDIS_URL: redisUrl,
      SEND_DEADLINE_MS: '3000',
      BREAKER_FAILURE_THRESHOLD: '2',
      BREAKER_COOLDOWN_MS: '60000',
      BREAKER_SLOW_CALL_MS: '1000',
      WORKER_ID: '7',
    });
    const [ra, rb] = [`ra-${randomBytes(3).toString('hex')}`, `rb-${randomBytes(3).toString('hex')}`];
    const conv = await createDirect(api.url, api.config, ra, rb);
    const send = async (id: string) => {
      const t0 = Date.now();
      const res = await fetch(`${api.internalUrl}${INTERNAL_PATHS.sendBatch}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', [INTERNAL_TOKEN_HEADER]: api.config.INTERNAL_API_TOKEN },
        body: JSON.stringify({ requests: [{ user_id: ra, conversation_id: conv, client_msg_id: id, body: 'hi' }] }),
      });
      const [result] = ((await res.json()) as InternalSendBatchResponse).results;
      return { result: result!, ms: Date.now() - t0 };
    };
    expect('ok' in (await send('up')).result).toBe(true);

    redisServer.kill('SIGKILL');
    await new Promise<void>((r) => (redisServer.exitCode !== null || redisServer.signalCode !== null ? r() : redisServer.once('exit', () => r())));
    const answers: { message: string; ms: number }[] = [];
    for (let i = 0; i < 5; i++) {
      const { result, ms } = await send(`down-${i}`);
      expect('error' in result && result.error).toMatchObject({ code: Errors.UNAVAILABLE.code, name: 'unavailable', retry: true });
      expect(ms).toBeLessThanOrEqual(3300);
      answers.push({ message: 'error' in result ? result.error.message : '', ms });
    }
    // two consecutive failures (errors or calls slower than BREAKER_SLOW_CALL_MS) opened the redis
    // circuit: later sends are refused without waiting
    const last = answers.at(-1)!;
    expect(last.message).toMatch(/redis unavailable .*circuit open/);
    expect(last.ms).toBeLessThan(500);
  });
});
