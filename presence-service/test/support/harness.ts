import type { ServerFrame } from '@chat/protocol';
import { mintDevToken } from '@chat/server/auth';
import { createCassandra, createRedis, createRedisSubscriber, redisTargetFromConfig, type CassandraClient } from '@chat/server/clients';
import { loadConfig, type Config } from '@chat/server/config';
import { createLogger } from '@chat/server/logger';
import cassandra from 'cassandra-driver';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { startPresenceService, type RunningPresenceService } from '../../src/app.js';
import { CassandraMembership } from '../../src/membership.js';
import { freePort, waitFor } from '@chat/testing/wait';

export { freePort, waitFor };

const GATEWAY_MAIN = fileURLToPath(new URL('../../../gateway/dist/main.js', import.meta.url));
const PRESENCE_MAIN = fileURLToPath(new URL('../../dist/main.js', import.meta.url));

/** Timings used by the integration tests (seconds / ms). */
export const TEST_TIMINGS = {
  SESSION_REFRESH_SECONDS: '1',
  SESSION_TTL_SECONDS: '5',
  PRESENCE_TTL_SECONDS: '3',
  PRESENCE_SWEEP_INTERVAL_MS: '250',
  PRESENCE_OFFLINE_GRACE_MS: '300',
  PRESENCE_FLUSH_MS: '100',
  PRESENCE_MEMBERSHIP_CACHE_MS: '2000',
  TYPING_TTL_MS: '3000',
  TYPING_THROTTLE_MS: '1000',
  TYPING_MAX_TYPISTS: '5',
} as const;

/** Everything a presence test runs; `close()` stops all of it (call it in afterAll). */
export class PresenceHarness {
  readonly run = randomBytes(4).toString('hex');
  readonly children = new Set<ChildProcess>();
  readonly clients = new Set<TestClient>();
  readonly log;
  config!: Config;
  env!: NodeJS.ProcessEnv;
  db!: CassandraClient;
  presence: RunningPresenceService | undefined;
  private redis: ReturnType<typeof createRedis> | undefined;
  private redisSub: ReturnType<typeof createRedis> | undefined;

  /** presence-service processes (`startInstances`), by index. */
  readonly instances: PresenceProcess[] = [];

  constructor(private readonly redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:16379') {
    this.log = createLogger('presence-test', process.env.TEST_LOG_LEVEL ?? 'silent');
  }

  /** One presence-service inside the test process (the default), or `processes` real processes that gateways all list. */
  async start(processes = 0): Promise<void> {
    const ports = await Promise.all(Array.from({ length: Math.max(1, processes) }, () => freePort()));
    const presencePort = ports[0]!;
    this.env = {
      ...process.env,
      ...TEST_TIMINGS,
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'error',
      REDIS_URL: this.redisUrl,
      REDIS_KEY_PREFIX: `tp${this.run}:`,
      PRESENCE_HTTP_PORT: String(presencePort),
      PRESENCE_SERVICE_URL: ports.map((p) => `http://127.0.0.1:${p}`).join(','),
      CHAT_SERVICE_URL: 'http://127.0.0.1:9',
    };
    this.config = loadConfig(this.env);
    this.db = createCassandra(
      { contactPoints: this.config.CASSANDRA_CONTACT_POINTS, localDataCenter: this.config.CASSANDRA_LOCAL_DC, keyspace: this.config.CASSANDRA_KEYSPACE },
      this.log,
    );
    if (processes === 0) await this.startPresence();
    else for (const [i, port] of ports.entries()) this.instances.push(await this.presenceProcess(`p${i + 1}`, port));
  }

  /** A presence-service process on `port`, answering /healthz. */
  private async presenceProcess(name: string, port: number): Promise<PresenceProcess> {
    const child = spawn(process.execPath, [PRESENCE_MAIN], { env: { ...this.env, PRESENCE_HTTP_PORT: String(port) }, stdio: ['ignore', 'inherit', 'inherit'] });
    this.children.add(child);
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    void exited.then(() => this.children.delete(child));
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`presence-service ${name} exited with ${child.exitCode}`);
        return fetch(`http://127.0.0.1:${port}/healthz`).then(
          (r) => r.ok,
          () => false,
        );
      },
      15_000,
      `presence-service ${name}`,
    );
    return {
      name,
      port,
      child,
      stop: async (signal: NodeJS.Signals = 'SIGTERM') => {
        if (child.exitCode === null && child.signalCode === null) child.kill(signal);
        await exited;
      },
    };
  }

  async startPresence(): Promise<void> {
    this.redis ??= createRedis(redisTargetFromConfig(this.config), this.log, 'presence-test');
    this.redisSub ??= createRedisSubscriber(this.redis, this.log, 'presence-test-sub');
    this.presence = await startPresenceService(
      { log: this.log, redis: this.redis, redisSub: this.redisSub, membership: new CassandraMembership(this.db, this.config.PRESENCE_MEMBERSHIP_CACHE_MS) },
      {
        port: this.config.PRESENCE_HTTP_PORT,
        internalToken: this.config.INTERNAL_API_TOKEN,
        redisPrefix: this.config.REDIS_KEY_PREFIX,
        ttlSeconds: this.config.PRESENCE_TTL_SECONDS,
        sweepIntervalMs: this.config.PRESENCE_SWEEP_INTERVAL_MS,
        offlineGraceMs: this.config.PRESENCE_OFFLINE_GRACE_MS,
        membershipCacheMs: this.config.PRESENCE_MEMBERSHIP_CACHE_MS,
        sessionTtlSeconds: this.config.SESSION_TTL_SECONDS,
        typingTtlMs: this.config.TYPING_TTL_MS,
        typingThrottleMs: this.config.TYPING_THROTTLE_MS,
        typingMaxTypists: this.config.TYPING_MAX_TYPISTS,
      },
    );
  }

  /** A conversation with these members, written straight to chat-service's tables (unique id). */
  async conversation(members: readonly string[]): Promise<string> {
    const id = (BigInt(Date.now()) * 1_000_000n + BigInt(randomInt(1_000_000))).toString();
    const long = cassandra.types.Long.fromString(id);
    const now = new Date();
    const queries = members.flatMap((u) => [
      { query: 'INSERT INTO conversation_members (conversation_id, user_id, role, joined_at) VALUES (?, ?, ?, ?)', params: [long, u, 'member', now] },
      { query: 'INSERT INTO user_conversations (user_id, conversation_id, kind, joined_at) VALUES (?, ?, ?, ?)', params: [u, long, 'group', now] },
    ]);
    await this.db.batch(queries, { prepare: true, logged: false });
    return id;
  }

  user(name: string): string {
    return `${name}-${this.run}`;
  }

  async gateway(name: string): Promise<GatewayProcess> {
    const [port, internalPort] = [await freePort(), await freePort()];
    const id = `tp${this.run}-${name}`;
    const child = spawn(process.execPath, [GATEWAY_MAIN], {
      env: { ...this.env, GATEWAY_ID: id, GATEWAY_PORT: String(port), GATEWAY_INTERNAL_PORT: String(internalPort) },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    this.children.add(child);
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    void exited.then(() => this.children.delete(child));
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`gateway ${id} exited with ${child.exitCode}`);
        return fetch(`http://127.0.0.1:${internalPort}/healthz`).then(
          (r) => r.ok,
          () => false,
        );
      },
      15_000,
      `gateway ${id}`,
    );
    return {
      id,
      url: `ws://127.0.0.1:${port}/ws`,
      child,
      stop: async (signal: NodeJS.Signals = 'SIGTERM') => {
        if (child.exitCode === null && child.signalCode === null) child.kill(signal);
        await exited;
      },
    };
  }

  async connect(gw: GatewayProcess, userId: string): Promise<TestClient> {
    const token = mintDevToken(this.config.JWT_HS256_SECRET, userId, { issuer: this.config.JWT_ISSUER, audience: this.config.JWT_AUDIENCE, ttlSeconds: 600 });
    const c = await TestClient.connect(gw.url, token);
    this.clients.add(c);
    return c;
  }

  async close(): Promise<void> {
    for (const c of this.clients) c.close();
    for (const child of this.children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await waitFor(() => this.children.size === 0, 5000, 'children to exit').catch(() => undefined);
    await this.presence?.close().catch(() => undefined);
    this.redis?.disconnect();
    this.redisSub?.disconnect();
    await this.db?.shutdown().catch(() => undefined);
  }
}

export interface PresenceProcess {
  name: string;
  port: number;
  child: ChildProcess;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export interface GatewayProcess {
  id: string;
  url: string;
  child: ChildProcess;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

type PresenceFrame = Extract<ServerFrame, { type: 'presence' }>;
type TypingFrame = Extract<ServerFrame, { type: 'typing' }>;

/** A WebSocket test client recording every frame. */
export class TestClient {
  readonly frames: ServerFrame[] = [];
  private ref = 0;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      if (!isBinary) this.frames.push(JSON.parse(data.toString()) as ServerFrame);
    });
    ws.on('error', () => undefined);
  }

  static connect(url: string, token: string): Promise<TestClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { headers: { authorization: `Bearer ${token}` } });
      const c = new TestClient(ws);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
      ws.once('error', reject);
      ws.once('open', () => waitFor(() => c.frames.some((f) => f.type === 'hello'), 5000, 'hello').then(() => resolve(c), reject));
    });
  }

  send(frame: Record<string, unknown>): void {
    this.ws.send(JSON.stringify(frame));
  }

  async request<T extends ServerFrame = ServerFrame>(frame: Record<string, unknown>): Promise<T> {
    const ref = `r${++this.ref}`;
    this.send({ ...frame, ref });
    let reply: ServerFrame | undefined;
    await waitFor(() => (reply = this.frames.find((f) => 'ref' in f && f.ref === ref)) !== undefined, 10_000, `reply to ${String(frame.type)}`);
    return reply as T;
  }

  /** Presence events (not replies) about one user, in arrival order. */
  presenceEvents(userId: string): { online: boolean; last_seen?: number }[] {
    return this.frames
      .filter((f): f is PresenceFrame => f.type === 'presence' && f.ref === undefined)
      .flatMap((f) => f.users.filter((u) => u.user_id === userId));
  }

  typing(conversationId?: string): TypingFrame[] {
    return this.frames.filter((f): f is TypingFrame => f.type === 'typing' && (conversationId === undefined || f.conversation_id === conversationId));
  }

  close(): void {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close();
  }
}
