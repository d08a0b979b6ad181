import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfigVars } from '@chat/server/config';
import { kafkaTopics, TOPIC_CONFIG_VARS, topicSettingsFromConfig } from '@chat/server/kafka-topics';
import { cassandraComponent } from './cassandra.js';
import type { Component } from './component.js';
import { endpointEnv, HOST, type Endpoints } from './config.js';
import { kafka } from './kafka.js';
import { applyMigrations } from './migrations.js';
import type { ComponentName, Paths } from './paths.js';
import { isAlive, removePidFile, runningPid, spawnDetached, stopProcess, tailFile } from './process-control.js';
import { cassandraClient, NotReadyError, portOpen, waitUntil } from './readiness.js';
import { redis } from './redis.js';
import { ensureBucket } from './s3-store.js';
import { s3proxy } from './s3proxy.js';
import { ensureTopics, warmUpCoordinators } from './topics.js';

export const ALL: readonly Component[] = [redis, kafka, cassandraComponent, s3proxy];

export function component(name: ComponentName): Component {
  const c = ALL.find((x) => x.name === name);
  if (!c) throw new Error(`unknown component ${name}`);
  return c;
}

export type Log = (msg: string) => void;

export interface UpResult {
  /** Components this invocation started (the ones `test` must stop again). */
  started: ComponentName[];
  endpoints: Endpoints;
}

function secs(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/** Time limits can be stretched on slow machines: CHAT_INFRA_TIMEOUT_SCALE=2 doubles them. */
function scaled(ms: number): number {
  const f = Number(process.env.CHAT_INFRA_TIMEOUT_SCALE ?? '1');
  return Number.isFinite(f) && f > 0 ? ms * f : ms;
}

async function upOne(c: Component, paths: Paths, e: Endpoints, log: Log, onSpawned: () => void, signal?: AbortSignal): Promise<void> {
  const t0 = Date.now();
  const say = (m: string) => log(`${c.name}: ${m}`);
  const pidFile = paths.pidFile(c.name);
  const logFile = paths.logFile(c.name);
  const hint = `see ${logFile}`;
  const existing = runningPid(pidFile, paths.dataDir);
  if (existing !== undefined) {
    await waitUntil(c.name, () => c.ready(e), { timeoutMs: scaled(c.readyTimeoutMs), stillAlive: () => isAlive(existing), hint });
    say(`already running (pid ${existing})`);
    return;
  }
  for (const p of c.ports) {
    if (await portOpen(HOST, p)) {
      throw new Error(
        `${c.name}: port ${HOST}:${p} is already in use by a process we did not start; free it, or point ${envVarOf(c.name)} at an existing ${c.name}`,
      );
    }
  }
  const launch = await c.prepare(paths, say);
  signal?.throwIfAborted();
  mkdirSync(paths.logDir, { recursive: true });
  writeFileSync(logFile, `\n===== ${new Date().toISOString()} starting ${launch.version}: ${launch.command} ${launch.args.join(' ')}\n`, { flag: 'a' });
  const pid = spawnDetached({
    command: launch.command,
    args: launch.args,
    cwd: paths.componentDir(c.name),
    logFile,
    pidFile,
    ...(launch.env ? { env: launch.env } : {}),
  });
  onSpawned();
  say(`started ${launch.version} (pid ${pid}), waiting for readiness...`);
  try {
    await waitUntil(c.name, () => c.ready(e), { timeoutMs: scaled(c.readyTimeoutMs), stillAlive: () => isAlive(pid), hint, intervalMs: 500 });
  } catch (err) {
    // A half-started component is of no use; do not leave it behind.
    await stopProcess(pid, paths.dataDir, 5000);
    removePidFile(pidFile);
    const tail = tailFile(logFile, 25);
    if (err instanceof NotReadyError && tail) throw new Error(`${err.message}\n--- last lines of ${logFile} ---\n${tail}`);
    throw err;
  }
  say(`ready on ${HOST}:${c.port} in ${secs(Date.now() - t0)}`);
}

export function envVarOf(name: ComponentName): string {
  return { redis: 'REDIS_URL', kafka: 'KAFKA_BROKERS', cassandra: 'CASSANDRA_CONTACT_POINTS', s3: 'S3_ENDPOINT' }[name];
}

export type ProvisionTarget = Pick<Endpoints, 'kafkaBrokers' | 'cassandraContactPoints' | 'cassandraLocalDc' | 'cassandraKeyspace' | 'cassandraReplication'>;

/**
 * Create/verify the declared topics (settings from the KAFKA_* variables of the environment,
 * `topicEnv` overriding) and apply the migrations.
 */
export async function provision(e: ProvisionTarget, paths: Paths, log: Log, topicEnv: NodeJS.ProcessEnv = {}): Promise<void> {
  const kafkaWork = (async () => {
    const t = Date.now();
    const topics = kafkaTopics(topicSettingsFromConfig(loadConfigVars(TOPIC_CONFIG_VARS, { ...process.env, ...topicEnv })));
    const r = await waitUntil('kafka topics', () => ensureTopics(e.kafkaBrokers, topics), { timeoutMs: scaled(60_000), intervalMs: 1000 });
    await waitUntil('kafka group/producer coordinators', () => warmUpCoordinators(e.kafkaBrokers), { timeoutMs: scaled(60_000), intervalMs: 500 });
    log(`kafka: topics ${r.created.length ? `created ${r.created.join(', ')}` : 'up to date'}, coordinators loaded (${secs(Date.now() - t)})`);
  })();
  const cassWork = (async () => {
    const t = Date.now();
    const client = cassandraClient(e.cassandraContactPoints, e.cassandraLocalDc);
    try {
      await client.connect();
      const r = await applyMigrations(client, {
        keyspace: e.cassandraKeyspace,
        replicationFactor: e.cassandraReplication,
        dir: paths.migrationsDir,
        log: (m) => log(`cassandra: ${m}`),
      });
      if (r.applied.length === 0 && r.alreadyApplied.length === 0) log(`cassandra: warning: no migrations found in ${paths.migrationsDir}`);
      log(
        `cassandra: keyspace ${e.cassandraKeyspace}: ${r.applied.length} migration(s) applied, ${r.alreadyApplied.length} already applied (${secs(Date.now() - t)})`,
      );
    } finally {
      await client.shutdown().catch(() => undefined);
    }
  })();
  const results = await Promise.allSettled([kafkaWork, cassWork]);
  const errors = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as Error] : []));
  if (errors.length > 0) throw new Error(errors.map((x) => x.message).join('\n'));
}

/** The attachments bucket (S3_BUCKET) exists in the S3-compatible store. */
async function provisionBucket(e: Endpoints, log: Log): Promise<void> {
  const created = await waitUntil('s3 bucket', () => ensureBucket(e.s3), { timeoutMs: scaled(30_000), intervalMs: 500 });
  log(`s3: bucket ${e.s3.bucket} ${created ? 'created' : 'exists'} at ${e.s3.endpoint}`);
}

/**
 * Start (in parallel) whatever is neither external nor running, wait for readiness, create topics,
 * migrate. `started` (optional, filled as processes are spawned) lets a caller that is interrupted
 * half-way know what to stop.
 */
export async function up(paths: Paths, e: Endpoints, log: Log, started: ComponentName[] = [], signal?: AbortSignal): Promise<UpResult> {
  const t0 = Date.now();
  mkdirSync(paths.runDir, { recursive: true });
  const results = await Promise.allSettled(
    ALL.map(async (c) => {
      if (e.external[c.name]) {
        log(`${c.name}: using external ${envVarOf(c.name)}=${endpointEnv(e)[envVarOf(c.name)]}`);
        await waitUntil(`${c.name} (external)`, () => c.ready(e), { timeoutMs: scaled(30_000), intervalMs: 1000 });
        return;
      }
      await upOne(c, paths, e, log, () => started.push(c.name), signal);
    }),
  );
  const errors = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as Error] : []));
  if (errors.length > 0) throw new Error(errors.map((x) => x.message).join('\n\n'));
  await Promise.all([provision(e, paths, log), provisionBucket(e, log)]);
  writeFileSync(
    join(paths.dataDir, 'infra.env'),
    Object.entries(endpointEnv(e))
      .map(([k, v]) => `${k}=${v}`)
      .join('\n') + '\n',
  );
  log(`infra ready in ${secs(Date.now() - t0)}; logs: ${paths.logDir}/{redis,kafka,cassandra,s3}.log`);
  return { started, endpoints: e };
}

/** Stop our processes (all, or the given ones) in parallel. Never touches a pid that is not ours. */
export async function down(paths: Paths, log: Log, only?: readonly ComponentName[]): Promise<void> {
  const targets = ALL.filter((c) => !only || only.includes(c.name));
  await Promise.all(
    targets.map(async (c) => {
      const pid = runningPid(paths.pidFile(c.name), paths.dataDir);
      if (pid === undefined) {
        removePidFile(paths.pidFile(c.name));
        return;
      }
      const t = Date.now();
      const how = await stopProcess(pid, paths.dataDir, c.stopGraceMs);
      removePidFile(paths.pidFile(c.name));
      log(`${c.name}: ${how === 'killed' ? 'did not stop in time, killed' : 'stopped'} (pid ${pid}, ${secs(Date.now() - t)})`);
    }),
  );
}

export function purge(paths: Paths, log: Log): void {
  if (existsSync(paths.dataDir)) {
    rmSync(paths.dataDir, { recursive: true, force: true });
    log(`removed ${paths.dataDir}`);
  }
}

export interface ComponentStatus {
  name: ComponentName;
  state: 'external' | 'running' | 'stopped';
  pid?: number;
  endpoint: string;
  ready?: boolean;
  log?: string;
}

export async function status(paths: Paths, e: Endpoints): Promise<ComponentStatus[]> {
  return Promise.all(
    ALL.map(async (c): Promise<ComponentStatus> => {
      const endpoint = endpointEnv(e)[envVarOf(c.name)] ?? '';
      const ready = () => Promise.race([c.ready(e).then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 5000).unref())]).catch(() => false);
      if (e.external[c.name]) return { name: c.name, state: 'external', endpoint, ready: await ready() };
      const pid = runningPid(paths.pidFile(c.name), paths.dataDir);
      if (pid === undefined) return { name: c.name, state: 'stopped', endpoint, log: paths.logFile(c.name) };
      return { name: c.name, state: 'running', pid, endpoint, ready: await ready(), log: paths.logFile(c.name) };
    }),
  );
}
