import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { mintDevToken } from '@chat/server/auth';
import { createCassandra, createKafka, createTopicsWithLeaders, type CassandraClient, type Kafka } from '@chat/server/clients';
import { loadConfig, type Config } from '@chat/server/config';
import { kafkaTopics, topicSettingsFromConfig, toTopicConfigs } from '@chat/server/kafka-topics';
import { createLogger } from '@chat/server/logger';
import { ChatClient, type ChatClientOptions } from '@chat/sdk';
import { recordingWebSocket, type History } from '@chat/testing/history-checker';
import { freePort, waitFor } from '@chat/testing/wait';

const main = (rel: string) => fileURLToPath(new URL(rel, import.meta.url));
const CHAT_SERVICE_MAIN = main('../../../dist/main.js');
const GATEWAY_MAIN = main('../../../../gateway/dist/main.js');
const PRESENCE_MAIN = main('../../../../presence-service/dist/main.js');

/**
 * The fault tests need the replicated profile (`npm run test:replicated` sets its variables): fail
 * loudly when pointed at anything smaller, rather than prove nothing.
 */
function requireReplicatedProfile(env: NodeJS.ProcessEnv = process.env): void {
  const brokers = (env.KAFKA_BROKERS ?? '').split(',').filter(Boolean);
  const contactPoints = (env.CASSANDRA_CONTACT_POINTS ?? '').split(',').filter(Boolean);
  if (env.CHAT_INFRA_PROFILE !== 'replicated' || brokers.length < 3 || contactPoints.length < 3 || !env.REDIS_SENTINELS) {
    throw new Error('these tests run against the replicated profile: npm run test:replicated (node deploy/dist/local/cli.js test --replicated)');
  }
}

interface ServiceProcess {
  name: string;
  child: ChildProcess;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** Spawns a service's real main and waits for its /healthz (on its internal listener). */
async function startService(name: string, file: string, env: NodeJS.ProcessEnv, healthPort: number): Promise<ServiceProcess> {
  const child = spawn(process.execPath, [file], { env, stdio: ['ignore', 'inherit', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}`);
      return fetch(`http://127.0.0.1:${healthPort}/healthz`).then(
        (r) => r.ok,
        () => false,
      );
    },
    60_000,
    `${name} to listen`,
  );
  return {
    name,
    child,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}

export interface StackOptions {
  /** Gateway processes. @default 2 */
  gateways?: number;
  /** Run presence-service too (gateways relay presence). @default false */
  presence?: boolean;
}

/**
 * The real processes against the replicated profile: one chat-service (API + sequencer), optionally
 * presence-service, and gateways; isolated like the single-node tests (own Redis prefix, Kafka topic
 * with the profile's RF 3 / min ISR 2, consumer group).
 */
export class ReplicatedStack {
  readonly run = randomBytes(4).toString('hex');
  readonly topic = `chat.messages.test-${this.run}`;
  readonly groupId = `test-${this.run}`;
  env!: NodeJS.ProcessEnv;
  config!: Config;
  chatUrl!: string;
  gatewayUrls: string[] = [];
  kafka!: Kafka;
  cassandra!: CassandraClient;
  private readonly services: ServiceProcess[] = [];
  private readonly clients: ChatClient[] = [];

  static async start(options: StackOptions = {}): Promise<ReplicatedStack> {
    requireReplicatedProfile();
    const s = new ReplicatedStack();
    await s.init(options);
    return s;
  }

  private async init(o: StackOptions): Promise<void> {
    const [chatPort, chatInternalPort, presencePort] = [await freePort(), await freePort(), await freePort()];
    this.env = {
      ...process.env,
      // Crashed nodes make the clients log connection errors by the hundred; TEST_LOG_LEVEL=warn shows them.
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'fatal',
      REDIS_KEY_PREFIX: `t${this.run}:`,
      CHAT_HTTP_PORT: String(chatPort),
      CHAT_INTERNAL_PORT: String(chatInternalPort),
      CHAT_SERVICE_URL: `http://127.0.0.1:${chatInternalPort}`,
      CHAT_SERVICE_ROLES: 'api,sequencer',
      KAFKA_TOPIC_MESSAGES: this.topic,
      KAFKA_MESSAGES_PARTITIONS: '4',
      SEQUENCER_GROUP_ID: this.groupId,
      SESSION_REFRESH_SECONDS: '1',
      SESSION_TTL_SECONDS: '5',
      PRESENCE_HTTP_PORT: String(presencePort),
      PRESENCE_SERVICE_URL: o.presence ? `http://127.0.0.1:${presencePort}` : '',
      PRESENCE_TTL_SECONDS: '3',
      PRESENCE_SWEEP_INTERVAL_MS: '250',
      PRESENCE_OFFLINE_GRACE_MS: '300',
      PRESENCE_FLUSH_MS: '100',
    };
    this.config = loadConfig(this.env);
    const log = createLogger('replicated-test', 'silent');
    this.kafka = createKafka(this.config.KAFKA_BROKERS, `test-${this.run}`, log);
    this.cassandra = createCassandra(
      { contactPoints: this.config.CASSANDRA_CONTACT_POINTS, localDataCenter: this.config.CASSANDRA_LOCAL_DC, keyspace: this.config.CASSANDRA_KEYSPACE },
      log,
    );
    const admin = this.kafka.admin();
    await admin.connect();
    await createTopicsWithLeaders(admin, toTopicConfigs(kafkaTopics(topicSettingsFromConfig(this.config))));
    await admin.disconnect();

    this.services.push(await startService('chat-service', CHAT_SERVICE_MAIN, this.env, chatInternalPort));
    this.chatUrl = `http://127.0.0.1:${chatPort}`;
    if (o.presence) this.services.push(await startService('presence-service', PRESENCE_MAIN, this.env, presencePort));
    for (let i = 1; i <= (o.gateways ?? 2); i++) {
      const [port, internalPort] = [await freePort(), await freePort()];
      const env = { ...this.env, GATEWAY_ID: `t${this.run}-gw${i}`, GATEWAY_PORT: String(port), GATEWAY_INTERNAL_PORT: String(internalPort) };
      this.services.push(await startService(`gateway ${i}`, GATEWAY_MAIN, env, internalPort));
      this.gatewayUrls.push(`ws://127.0.0.1:${port}/ws`);
    }
  }

  user(name: string): string {
    return `${name}-${this.run}`;
  }

  token(userId: string): string {
    return mintDevToken(this.config.JWT_HS256_SECRET, userId, { issuer: this.config.JWT_ISSUER, audience: this.config.JWT_AUDIENCE, ttlSeconds: 3600 });
  }

  async createGroup(creator: string, members: string[]): Promise<string> {
    const res = await fetch(`${this.chatUrl}/v1/conversations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${this.token(creator)}`, 'content-type': 'application/json' },
      body: JSON.stringify({ kind: 'group', title: `faults ${this.run}`, member_ids: members }),
    });
    if (res.status !== 201 && res.status !== 200) throw new Error(`create conversation: HTTP ${res.status}`);
    return ((await res.json()) as { conversation: { conversation_id: string } }).conversation.conversation_id;
  }

  /**
   * A connected SDK client for `userId` whose shown and raw logs go to a device of `history` that
   * follows `conv`. Reconnects move through every gateway.
   */
  async device(history: History, userId: string, conv: string, options: Partial<ChatClientOptions> = {}): Promise<ChatClient> {
    const device = history.device(userId).follow(conv);
    const WebSocketImpl = recordingWebSocket(WebSocket as unknown as NonNullable<ChatClientOptions['WebSocketImpl']>, (t) => device.rawFrame(t));
    const c = new ChatClient({
      url: this.gatewayUrls,
      getToken: () => this.token(userId),
      WebSocketImpl,
      reconnectBaseMs: 100,
      reconnectCapMs: 2000,
      ...options,
    });
    this.clients.push(c);
    device.attach(c);
    c.track(conv, 0);
    await c.connect();
    return c;
  }

  async close(): Promise<void> {
    for (const c of this.clients) c.close();
    await Promise.all(this.services.map((s) => s.stop('SIGTERM')));
    await this.cassandra?.shutdown().catch(() => undefined);
  }
}
