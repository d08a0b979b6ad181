import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { systemProcesses } from '@chat/deploy/local/topology';
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
  /** Each gateway's internal listener (/metrics, /debug/heap), in gatewayNames order. */
  gatewayInternalUrls: string[];
  chatUrl: string;
  env: Record<string, string>;
}

/** Gateway i's internal listener is on gatewayBasePort + this + i (shards stay below it). */
const GATEWAY_INTERNAL_PORT_OFFSET = 20;

/** The presence-service instances' ports (two, as `npm start` runs). */
export function presencePorts(o: Pick<SystemOptions, 'chatPort'>): number[] {
  return [o.chatPort + 1, o.chatPort + 4];
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
    // chatPort+1 and +4: presence instances, +2: the sequencer's internal listener, +3: the API's internal listener.
    CHAT_INTERNAL_PORT: String(o.chatPort + 3),
    CHAT_SERVICE_URL: `http://127.0.0.1:${o.chatPort + 3}`,
    // Each gateway's /healthz and /metrics on a free port of its own (logged at start).
    GATEWAY_INTERNAL_PORT: '0',
    PRESENCE_HTTP_PORT: String(o.chatPort + 1),
    PRESENCE_SERVICE_URL: presencePorts(o)
      .map((p) => `http://127.0.0.1:${p}`)
      .join(','),
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
    // The system's processes as `npm start` runs them (deploy's topology), on this run's ports.
    const processes = systemProcesses({
      chatHttpPort: o.chatPort,
      presencePorts: presencePorts(o),
      sequencerInternalPort: o.chatPort + 2,
      chatInternalPort: o.chatPort + 3,
      gatewayPorts: Array.from({ length: o.gateways }, (_, i) => o.gatewayBasePort + i),
      gatewayInternalPorts: Array.from({ length: o.gateways }, (_, i) => o.gatewayBasePort + GATEWAY_INTERNAL_PORT_OFFSET + i),
      sequencerRoles: o.sequencerRoles ?? 'sequencer',
      names: { api: 'chat-service', presence: 'presence-service' },
      gatewayId: (name) => `bench-${o.runId}-${name}`,
    });
    const gateways = processes.filter((p) => p.main === 'gateway/dist/main.js');
    // chat-service and presence-service first: gateways call them from their first connection on.
    for (const p of processes.filter((p) => !gateways.includes(p))) procs.start(p.name, p.main, { ...env, ...p.env }, false, p.nodeFlags);
    await procs.waitForPort('chat-service', o.chatPort, 90_000);
    for (const p of processes.filter((p) => p.main === 'presence-service/dist/main.js')) await procs.waitForPort(p.name, p.port!, 60_000);
    for (const p of gateways) procs.start(p.name, p.main, { ...env, ...p.env }, false, p.nodeFlags);
    for (const p of gateways) await procs.waitForPort(p.name, p.port!, 60_000);
    const gatewayUrls = gateways.map((p) => `ws://127.0.0.1:${p.port!}/ws`);
    const gatewayNames = gateways.map((p) => p.name);
    const gatewayInternalUrls = gateways.map((p) => `http://127.0.0.1:${p.env.GATEWAY_INTERNAL_PORT}`);
    return { procs, gatewayUrls, gatewayNames, gatewayInternalUrls, chatUrl: `http://127.0.0.1:${o.chatPort}`, env };
  } catch (err) {
    await procs.stop();
    throw err;
  }
}

export function logDirFor(resultsDir: string, scenario: string, runId: string): string {
  return join(resultsDir, 'logs', `${scenario}-${runId}`);
}
