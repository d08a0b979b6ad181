import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { mintDevToken } from '@chat/server/auth';
import {
  createCassandra,
  createIdempotentProducer,
  createKafka,
  createRedis,
  createRedisSubscriber,
  createTopicsWithLeaders,
  redisTargetFromConfig,
  type CassandraClient,
  type Kafka,
  type Redis,
} from '@chat/server/clients';
import { loadConfig, type Config } from '@chat/server/config';
import { kafkaTopics, topicSettingsFromConfig, toTopicConfigs } from '@chat/server/kafka-topics';
import { createLogger } from '@chat/server/logger';
import { startChatService, type RunningChatService } from '../../src/app.js';
import { createS3ObjectStorage, s3SettingsFromConfig } from '../../src/attachments/s3-object-storage.js';
import { spawnGateway, type GatewayProcess } from '@chat/testing/gateway-process';
import { rawRequest, spawnService, type ServiceProcess } from '@chat/testing/http-fuzz';
import { freePort, waitFor } from '@chat/testing/wait';

export { freePort, waitFor };
export { spawnGateway as startGateway, type GatewayProcess };

const CHAT_SERVICE_MAIN = fileURLToPath(new URL('../../dist/main.js', import.meta.url));

export interface TestSystem {
  config: Config;
  env: NodeJS.ProcessEnv;
  /** chat-service's public REST listener. */
  chatUrl: string;
  /** chat-service's internal listener: internal API (what gateways call), /healthz, /metrics. */
  chatInternalUrl: string;
  gateways: GatewayProcess[];
  redis: Redis;
  kafka: Kafka;
  cassandra: CassandraClient;
  topic: string;
  token(userId: string, ttlSeconds?: number): string;
  /** Calls the public REST API as `userId`. */
  rest<T = unknown>(userId: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>;
  close(): Promise<void>;
}

/**
 * Starts chat-service in-process and `gatewayCount` gateway processes, isolated from other test
 * files by a unique Redis prefix, Kafka topic and consumer group (the keyspace is shared; every
 * conversation id is unique).
 */
export interface SystemOptions {
  /** Roles of the in-process chat-service (e.g. 'api' when the test runs the sequencer as a child process). @default 'api,sequencer' */
  roles?: string;
  /** Extra environment for every process. */
  env?: NodeJS.ProcessEnv;
}

export async function startSystem(gatewayCount = 2, options: SystemOptions = {}): Promise<TestSystem> {
  const run = randomBytes(4).toString('hex');
  const topic = `chat.messages.test-${run}`;
  const chatPort = await freePort();
  const chatInternalPort = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
    REDIS_KEY_PREFIX: `t${run}:`,
    CHAT_HTTP_PORT: String(chatPort),
    CHAT_INTERNAL_PORT: String(chatInternalPort),
    CHAT_SERVICE_URL: `http://127.0.0.1:${chatInternalPort}`,
    SESSION_REFRESH_SECONDS: '1',
    SESSION_TTL_SECONDS: '5',
    PRESENCE_SERVICE_URL: '', // presence has its own suite (presence-service/test)
    KAFKA_TOPIC_MESSAGES: topic,
    SEQUENCER_GROUP_ID: `test-${run}`,
    INBOX_WRITER_GROUP_ID: `test-inbox-${run}`,
    CHAT_SERVICE_ROLES: options.roles ?? 'api,sequencer',
    ...options.env,
  };
  const config = loadConfig(env);
  const log = createLogger('test', config.LOG_LEVEL);
  const redis = createRedis(redisTargetFromConfig(config), log);
  const kafka = createKafka(config.KAFKA_BROKERS, `test-${run}`, log);
  const cassandra = createCassandra(
    { contactPoints: config.CASSANDRA_CONTACT_POINTS, localDataCenter: config.CASSANDRA_LOCAL_DC, keyspace: config.CASSANDRA_KEYSPACE },
    log,
  );
  const admin = kafka.admin();
  await admin.connect();
  await createTopicsWithLeaders(admin, toTopicConfigs(kafkaTopics({ ...topicSettingsFromConfig(config), partitions: 4 })));
  await admin.disconnect();

  const redisSub = createRedisSubscriber(redis, log);
  const s3 = createS3ObjectStorage(s3SettingsFromConfig(config));
  const chat: RunningChatService = await startChatService(config, log, {
    redis,
    redisSub,
    kafka,
    cassandra,
    createProducer: () => createIdempotentProducer(kafka),
    objects: s3.storage,
  });

  const gateways: GatewayProcess[] = [];
  for (let i = 1; i <= gatewayCount; i++) gateways.push(await spawnGateway(env, `t${run}-gw${i}`));

  const token = (userId: string, ttlSeconds = 600) =>
    mintDevToken(config.JWT_HS256_SECRET, userId, { issuer: config.JWT_ISSUER, audience: config.JWT_AUDIENCE, ttlSeconds });
  const chatUrl = `http://127.0.0.1:${chat.publicPort ?? chatPort}`;
  return {
    config,
    env,
    chatUrl,
    chatInternalUrl: `http://127.0.0.1:${chat.internalPort}`,
    gateways,
    redis,
    kafka,
    cassandra,
    topic,
    token,
    rest: async <T>(userId: string, method: string, path: string, body?: unknown) => {
      const res = await fetch(`${chatUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${token(userId)}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      return { status: res.status, body: (await res.json()) as T };
    },
    close: async () => {
      await Promise.all(gateways.map((g) => g.stop()));
      await chat.close();
      await cassandra.shutdown();
      s3.close();
      redisSub.disconnect();
      redis.disconnect();
    },
  };
}

export interface ApiServiceProcess extends ServiceProcess {
  /** The public REST listener's port. */
  port: number;
  /** The internal listener's port (/healthz, /metrics, the internal API). */
  internalPort: number;
  /** The random tag that isolates this process (its Redis key prefix and Kafka topic carry it). */
  run: string;
}

/**
 * chat-service's real main (dist/main.js) as a child process with the API role only, on free
 * ports, its Redis prefix (`<prefix><run>:`) and messages topic its own; resolves once /healthz
 * answers on the internal listener. `env` adds to (or overrides) the test's environment.
 */
export async function spawnApiService(prefix: string, env: NodeJS.ProcessEnv = {}): Promise<ApiServiceProcess> {
  const [port, internalPort] = [await freePort(), await freePort()];
  const run = randomBytes(4).toString('hex');
  const service = await spawnService(
    CHAT_SERVICE_MAIN,
    {
      ...process.env,
      LOG_LEVEL: 'warn',
      CHAT_SERVICE_ROLES: 'api',
      CHAT_HTTP_PORT: String(port),
      CHAT_INTERNAL_PORT: String(internalPort),
      REDIS_KEY_PREFIX: `${prefix}${run}:`,
      KAFKA_TOPIC_MESSAGES: `chat.messages.test-${run}`,
      ...env,
    },
    // A fresh connection each time: a pooled keep-alive socket the server closed would read as ECONNRESET.
    async () => (await rawRequest(internalPort, { method: 'GET', target: '/healthz', headers: [], body: '' })).status === 200,
    'chat-service',
  );
  return Object.assign(service, { port, internalPort, run });
}

export interface ChildProcessHandle {
  child: ChildProcess;
  /** Sends `signal` and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** Runs chat-service's real main (dist/main.js) as a child process with `env` (e.g. CHAT_SERVICE_ROLES=sequencer). */
export async function startChatServiceProcess(env: NodeJS.ProcessEnv): Promise<ChildProcessHandle> {
  const [port, internalPort] = [await freePort(), await freePort()];
  const child = spawn(process.execPath, [CHAT_SERVICE_MAIN], {
    env: { ...env, CHAT_HTTP_PORT: String(port), CHAT_INTERNAL_PORT: String(internalPort) },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`chat-service exited with ${child.exitCode}`);
      return fetch(`http://127.0.0.1:${internalPort}/healthz`).then(
        (r) => r.ok,
        () => false,
      );
    },
    30_000,
    'chat-service process to listen',
  );
  return {
    child,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}
