import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { ProcessGroup } from './processes.js';
import { createTopics, deleteTopics } from './run-topics.js';

export interface SystemOptions {
  runId: string;
  repoRoot: string;
  logDir: string;
  gateways: number;
  /** First gateway port; shards use consecutive ports. */
  gatewayBasePort: number;
  chatPort: number;
  redisPrefix: string;
  logLevel: string;
  extraEnv?: Record<string, string>;
  /** Roles of the second chat-service process (internal listener chatPort+2). @default 'sequencer' */
  sequencerRoles?: string;
}

export interface RunningSystem {
  procs: ProcessGroup;
  gatewayUrls: string[];
  gatewayNames: string[];
  chatUrl: string;
  env: Record<string, string>;
}

/** Environment shared by chat-service, gateways and load workers (JWT settings must agree). */
export function baseEnv(o: SystemOptions, internalToken: string): Record<string, string> {
  return {
    NODE_ENV: 'development',
    LOG_LEVEL: o.logLevel,
    REDIS_KEY_PREFIX: o.redisPrefix,
    JWT_HS256_SECRET: process.env.JWT_HS256_SECRET || 'dev-secret-change-me',
    JWT_ISSUER: process.env.JWT_ISSUER || 'chat-dev',
    JWT_AUDIENCE: process.env.JWT_AUDIENCE || 'chat',
    INTERNAL_API_TOKEN: internalToken,
    CHAT_HTTP_HOST: '127.0.0.1',
    CHAT_HTTP_PORT: String(o.chatPort),
    // chatPort+1: presence, +2: the sequencer's internal listener, +3: the API's internal listener.
    CHAT_INTERNAL_PORT: String(o.chatPort + 3),
    CHAT_SERVICE_URL: `http://127.0.0.1:${o.chatPort + 3}`,
    // Each gateway's /healthz and /metrics on a free port of its own (logged at start).
    GATEWAY_INTERNAL_PORT: '0',
    PRESENCE_HTTP_PORT: String(o.chatPort + 1),
    PRESENCE_SERVICE_URL: `http://127.0.0.1:${o.chatPort + 1}`,
    METRICS_ENABLED: 'true',
    // group-fanout's largest group is 10,000 receiving members plus the sending owner.
    MAX_GROUP_MEMBERS: '20000',
    KAFKA_TOPIC_MESSAGES: `bench.${o.runId}.messages`,
    SEQUENCER_GROUP_ID: `bench.${o.runId}.sequencer`,
    INBOX_WRITER_GROUP_ID: `bench.${o.runId}.inbox`,
    ...(o.extraEnv ?? {}),
  };
}

/** Starts one chat-service (own Kafka topic) and N gateway shards; waits until all listen. */
export async function startSystem(o: SystemOptions): Promise<RunningSystem> {
  const procs = new ProcessGroup(o.logDir, o.repoRoot);
  const env = baseEnv(o, randomBytes(16).toString('hex'));
  try {
    // A topic and consumer group of the run's own, so it never competes with another chat-service.
    await createTopics(env);
    procs.onStop(() => deleteTopics(env));
    // The API and the sequencer in processes of their own, as in production, so neither waits on the other's event loop.
    procs.start('chat-service', 'chat-service/dist/main.js', { ...env, CHAT_SERVICE_ROLES: 'api' });
    procs.start('sequencer', 'chat-service/dist/main.js', { ...env, CHAT_SERVICE_ROLES: o.sequencerRoles ?? 'sequencer', CHAT_INTERNAL_PORT: String(o.chatPort + 2) });
    procs.start('presence-service', 'presence-service/dist/main.js', env);
    await procs.waitForPort('chat-service', o.chatPort, 90_000);
    await procs.waitForPort('presence-service', o.chatPort + 1, 60_000);
    const gatewayUrls: string[] = [];
    const gatewayNames: string[] = [];
    for (let i = 0; i < o.gateways; i++) {
      const port = o.gatewayBasePort + i;
      const name = `gw-${i + 1}`;
      procs.start(name, 'gateway/dist/main.js', { ...env, GATEWAY_PORT: String(port), GATEWAY_ID: `bench-${o.runId}-${name}` });
      gatewayUrls.push(`ws://127.0.0.1:${port}/ws`);
      gatewayNames.push(name);
    }
    for (let i = 0; i < o.gateways; i++) await procs.waitForPort(gatewayNames[i]!, o.gatewayBasePort + i, 60_000);
    return { procs, gatewayUrls, gatewayNames, chatUrl: `http://127.0.0.1:${o.chatPort}`, env };
  } catch (err) {
    await procs.stop();
    throw err;
  }
}

export function logDirFor(resultsDir: string, scenario: string, runId: string): string {
  return join(resultsDir, 'logs', `${scenario}-${runId}`);
}
