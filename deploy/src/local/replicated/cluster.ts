import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import cassandra from 'cassandra-driver';
import { provision, type Log } from '../infra.js';
import type { Paths } from '../paths.js';
import { isAlive, removePidFile, runningPid, spawnDetached, stopProcess, tailFile } from '../process-control.js';
import { kafkaClient, NotReadyError, portOpen, waitUntil } from '../readiness.js';
import { node, REPLICATED_NODES, withRedis, type ReplicatedNode } from './nodes.js';
import {
  CASSANDRA_LOCAL_DC,
  CASSANDRA_NATIVE_PORT,
  CASSANDRA_NODES,
  CASSANDRA_REPLICATION,
  HOST,
  KAFKA_MIN_INSYNC_REPLICAS,
  KAFKA_NODES,
  KAFKA_REPLICATION_FACTOR,
  REDIS_NODES,
  replicatedEnv,
  SENTINEL_MASTER_NAME,
  SENTINELS,
} from './topology.js';

function secs(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/** Time limits can be stretched on slow machines: CHAT_INFRA_TIMEOUT_SCALE=2 doubles them. */
function scaled(ms: number): number {
  const f = Number(process.env.CHAT_INFRA_TIMEOUT_SCALE ?? '1');
  return Number.isFinite(f) && f > 0 ? ms * f : ms;
}

/** Pid of a running node of ours, or undefined. */
export function nodePid(paths: Paths, name: string): number | undefined {
  return runningPid(paths.pidFile(name), paths.dataDir);
}

/**
 * Start one node unless it runs already, and wait until it answers. `onSpawned` is called once a
 * process exists (so an interrupted caller knows what to stop). A node that does not become ready
 * is stopped again, and the error carries the end of its log.
 */
export async function startNode(paths: Paths, n: ReplicatedNode, log: Log, onSpawned: () => void = () => undefined): Promise<void> {
  const t0 = Date.now();
  const say = (m: string) => log(`${n.name}: ${m}`);
  const pidFile = paths.pidFile(n.name);
  const logFile = paths.logFile(n.name);
  const hint = `see ${logFile}`;
  const existing = nodePid(paths, n.name);
  if (existing !== undefined) {
    await waitUntil(n.name, () => n.ready(), { timeoutMs: scaled(n.readyTimeoutMs), stillAlive: () => isAlive(existing), hint });
    say(`already running (pid ${existing})`);
    return;
  }
  for (const b of n.binds) {
    if (await portOpen(b.host, b.port)) throw new Error(`${n.name}: ${b.host}:${b.port} is already in use by a process we did not start; free it`);
  }
  const launch = await n.prepare(paths, say);
  mkdirSync(paths.logDir, { recursive: true });
  writeFileSync(logFile, `\n===== ${new Date().toISOString()} starting ${launch.version}: ${launch.command} ${launch.args.join(' ')}\n`, { flag: 'a' });
  const pid = spawnDetached({
    command: launch.command,
    args: launch.args,
    cwd: paths.componentDir(n.name),
    logFile,
    pidFile,
    ...(launch.env ? { env: launch.env } : {}),
  });
  onSpawned();
  say(`started ${launch.version} (pid ${pid})`);
  try {
    await waitUntil(n.name, () => n.ready(), { timeoutMs: scaled(n.readyTimeoutMs), stillAlive: () => isAlive(pid), hint, intervalMs: 500 });
  } catch (err) {
    await stopProcess(pid, paths.dataDir, 5000);
    removePidFile(pidFile);
    const tail = tailFile(logFile, 25);
    if (err instanceof NotReadyError && tail) throw new Error(`${err.message}\n--- last lines of ${logFile} ---\n${tail}`);
    throw err;
  }
  say(`ready on ${n.endpoint} in ${secs(Date.now() - t0)}`);
}

/** SIGKILL a node (a crash: no shutdown hooks, no flush) and wait until it is gone. */
export async function killNode(paths: Paths, name: string): Promise<number> {
  const pid = nodePid(paths, name);
  if (pid === undefined) throw new Error(`${name} is not running`);
  process.kill(pid, 'SIGKILL');
  for (let i = 0; i < 200 && isAlive(pid); i++) await sleep(25);
  removePidFile(paths.pidFile(name));
  return pid;
}

/** All three brokers registered, unfenced, and a controller elected. */
async function kafkaClusterReady(): Promise<void> {
  const admin = kafkaClient(KAFKA_NODES.map((n) => `${HOST}:${n.port}`)).admin();
  try {
    await admin.connect();
    const c = await admin.describeCluster();
    if (c.brokers.length < KAFKA_NODES.length || c.controller === null) throw new Error(`${c.brokers.length} of ${KAFKA_NODES.length} brokers registered`);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/**
 * Every node, as coordinator, knows both peers and sees them alive: a read at consistency ALL of
 * one partition of `system_distributed` (replication factor 3, so every node holds it) fails as
 * unavailable until that node's failure detector has marked both peers up. A node that merely
 * answers CQL can still believe its peers down, and then rejects QUORUM writes.
 */
export async function cassandraClusterReady(): Promise<void> {
  for (const n of CASSANDRA_NODES) {
    const endpoint = `${n.host}:${CASSANDRA_NATIVE_PORT}`;
    const client = new cassandra.Client({
      contactPoints: [endpoint],
      localDataCenter: CASSANDRA_LOCAL_DC,
      protocolOptions: { port: CASSANDRA_NATIVE_PORT },
      policies: { loadBalancing: new cassandra.policies.loadBalancing.WhiteListPolicy(new cassandra.policies.loadBalancing.RoundRobinPolicy(), [endpoint]) },
      socketOptions: { connectTimeout: 3000, readTimeout: 10_000 },
    });
    try {
      await client.connect();
      const peers = await client.execute('SELECT peer FROM system.peers');
      if (peers.rowLength + 1 < CASSANDRA_NODES.length) throw new Error(`${n.name} knows ${peers.rowLength} peers`);
      await client
        .execute("SELECT view_name FROM system_distributed.view_build_status WHERE keyspace_name = 'readiness' AND view_name = 'probe'", [], {
          consistency: cassandra.types.consistencies.all,
        })
        .catch((err: Error) => {
          throw new Error(`${n.name} does not see every replica alive: ${err.message}`);
        });
    } finally {
      await client.shutdown().catch(() => undefined);
    }
  }
}

/** Every sentinel agrees on the master and knows the replica and the other sentinels (so a failover can be voted). */
async function sentinelsReady(): Promise<void> {
  for (const s of SENTINELS) {
    await withRedis(s.port, async (r) => {
      const fields = (await r.call('SENTINEL', 'master', SENTINEL_MASTER_NAME)) as string[];
      const m = new Map<string, string>();
      for (let i = 0; i + 1 < fields.length; i += 2) m.set(fields[i]!, fields[i + 1]!);
      const others = Number(m.get('num-other-sentinels') ?? 0);
      const replicas = Number(m.get('num-slaves') ?? 0);
      if (m.get('flags') !== 'master' || others < SENTINELS.length - 1 || replicas < REDIS_NODES.length - 1) {
        throw new Error(`${s.name}: flags ${m.get('flags')}, ${others} other sentinels, ${replicas} replicas`);
      }
    });
  }
}

/** The Redis master according to the sentinels (`host:port`). */
export async function currentRedisMaster(): Promise<string> {
  for (const s of SENTINELS) {
    try {
      const addr = await withRedis(s.port, (r) => r.call('SENTINEL', 'get-master-addr-by-name', SENTINEL_MASTER_NAME));
      if (Array.isArray(addr)) return `${String(addr[0])}:${String(addr[1])}`;
    } catch {
      // ask the next sentinel
    }
  }
  throw new Error('no sentinel answered');
}

/** The node name of `host:port` (e.g. the master address a sentinel reports). */
export function nodeAt(endpoint: string): ReplicatedNode {
  const n = REPLICATED_NODES.find((x) => x.endpoint === endpoint);
  if (!n) throw new Error(`no node at ${endpoint}`);
  return n;
}

/** The whole profile healthy: every process ready, 3 brokers, 3 Cassandra nodes up, sentinels in agreement. */
export async function clusterHealthy(timeoutMs = 120_000): Promise<void> {
  for (const n of REPLICATED_NODES) await waitUntil(n.name, () => n.ready(), { timeoutMs: scaled(timeoutMs), intervalMs: 500 });
  await waitUntil('kafka cluster (3 brokers)', kafkaClusterReady, { timeoutMs: scaled(timeoutMs), intervalMs: 500 });
  await waitUntil('cassandra cluster (every node sees 3 up)', cassandraClusterReady, { timeoutMs: scaled(timeoutMs), intervalMs: 1000 });
  await waitUntil('sentinels (agree on master, see replica and each other)', sentinelsReady, { timeoutMs: scaled(timeoutMs), intervalMs: 500 });
}

/**
 * Start the replicated profile: Redis master, 3 Kafka nodes and the first Cassandra node at once;
 * then the Redis replica and the sentinels, and the other Cassandra nodes (they join the first);
 * then topics (RF 3, min ISR 2) and migrations (keyspace RF 3). Returns the variables for services.
 */
export async function upReplicated(paths: Paths, log: Log, started: string[] = [], keyspace = 'chat'): Promise<Record<string, string>> {
  const t0 = Date.now();
  mkdirSync(paths.runDir, { recursive: true });
  const start = (name: string) => startNode(paths, node(name), log, () => started.push(name));
  const redis = (async () => {
    await start(REDIS_NODES[0]!.name);
    for (const r of REDIS_NODES.slice(1)) await start(r.name);
    await Promise.all(SENTINELS.map((s) => start(s.name)));
    await waitUntil('sentinels (agree on master, see replica and each other)', sentinelsReady, { timeoutMs: scaled(30_000), intervalMs: 250 });
    log(`redis: master, replica and ${SENTINELS.length} sentinels ready (${secs(Date.now() - t0)})`);
  })();
  const kafka = (async () => {
    await Promise.all(KAFKA_NODES.map((k) => start(k.name)));
    await waitUntil('kafka cluster (3 brokers)', kafkaClusterReady, { timeoutMs: scaled(60_000), intervalMs: 250 });
    log(`kafka: ${KAFKA_NODES.length} brokers ready (${secs(Date.now() - t0)})`);
  })();
  const cass = (async () => {
    await start(CASSANDRA_NODES[0]!.name);
    await Promise.all(CASSANDRA_NODES.slice(1).map((c) => start(c.name)));
    await waitUntil('cassandra cluster (every node sees 3 up)', cassandraClusterReady, { timeoutMs: scaled(60_000), intervalMs: 1000 });
    log(`cassandra: ${CASSANDRA_NODES.length} nodes up (${secs(Date.now() - t0)})`);
  })();
  const results = await Promise.allSettled([redis, kafka, cass]);
  const errors = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as Error] : []));
  if (errors.length > 0) throw new Error(errors.map((x) => x.message).join('\n\n'));
  const env = replicatedEnv(keyspace);
  await provision(
    {
      kafkaBrokers: env.KAFKA_BROKERS!.split(','),
      cassandraContactPoints: env.CASSANDRA_CONTACT_POINTS!.split(','),
      cassandraLocalDc: CASSANDRA_LOCAL_DC,
      cassandraKeyspace: keyspace,
      cassandraReplication: CASSANDRA_REPLICATION,
    },
    paths,
    log,
    { KAFKA_REPLICATION_FACTOR: String(KAFKA_REPLICATION_FACTOR), KAFKA_MIN_INSYNC_REPLICAS: String(KAFKA_MIN_INSYNC_REPLICAS) },
  );
  writeFileSync(
    join(paths.dataDir, 'infra.env'),
    Object.entries(env)
      .map(([k, v]) => `${k}=${v}`)
      .join('\n') + '\n',
  );
  log(`replicated profile ready in ${secs(Date.now() - t0)}; logs: ${paths.logDir}/<node>.log`);
  return env;
}

/** Stop our nodes (all, or the given ones): sentinels first (no failover during shutdown), then the rest in parallel. */
export async function downReplicated(paths: Paths, log: Log, only?: readonly string[]): Promise<void> {
  const targets = REPLICATED_NODES.filter((n) => !only || only.includes(n.name));
  const stop = async (n: ReplicatedNode) => {
    const pid = nodePid(paths, n.name);
    if (pid === undefined) {
      removePidFile(paths.pidFile(n.name));
      return;
    }
    const t = Date.now();
    const how = await stopProcess(pid, paths.dataDir, n.stopGraceMs);
    removePidFile(paths.pidFile(n.name));
    log(`${n.name}: ${how === 'killed' ? 'did not stop in time, killed' : 'stopped'} (pid ${pid}, ${secs(Date.now() - t)})`);
  };
  await Promise.all(targets.filter((n) => n.kind === 'sentinel').map(stop));
  await Promise.all(targets.filter((n) => n.kind !== 'sentinel').map(stop));
}

export interface NodeStatus {
  name: string;
  pid?: number;
  endpoint: string;
  ready?: boolean;
  /** e.g. `master` / `replica` for Redis. */
  role?: string;
  log: string;
}

export async function statusReplicated(paths: Paths): Promise<NodeStatus[]> {
  const master = await currentRedisMaster().catch(() => undefined);
  return Promise.all(
    REPLICATED_NODES.map(async (n): Promise<NodeStatus> => {
      const pid = nodePid(paths, n.name);
      const base = { name: n.name, endpoint: n.endpoint, log: paths.logFile(n.name) };
      if (pid === undefined) return base;
      const ready = await Promise.race([n.ready().then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 5000).unref())]).catch(() => false);
      const role = n.kind === 'redis' && master !== undefined ? (master === n.endpoint ? 'master' : 'replica') : undefined;
      return { ...base, pid, ready, ...(role ? { role } : {}) };
    }),
  );
}
