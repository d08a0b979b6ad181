import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cassandraArtifacts, cassandraJvmArgs, renderCassandraYaml, renderLogback } from '@chat/deploy/local/cassandra';
import { CASSANDRA_VERSIONS } from '@chat/deploy/local/config';
import { ensureFirstAvailable, findJar } from '@chat/deploy/local/maven';
import { applyMigrations } from '@chat/deploy/local/migrations';
import { resolvePaths } from '@chat/deploy/local/paths';
import { cassandraClient } from '@chat/deploy/local/readiness';
import { spawnUntilLogged } from './logged-process.js';
import { freePort } from './wait.js';

/**
 * A throwaway single-node Cassandra owned by one test file (own ports and data dir, the project's
 * migrations applied to keyspace `chat`), for fault tests that kill and restart it. Built from the
 * same configuration as `npm run infra`; never touch the shared Cassandra other test files use.
 */
export interface PrivateCassandra {
  contactPoints: string[];
  /** SIGKILL and wait for the exit. */
  kill(): Promise<void>;
  /** Starts it again on the same ports and data (commit log replayed); resolves when CQL is served. */
  restart(): Promise<void>;
  destroy(): Promise<void>;
}

export interface PrivateCassandraOptions {
  /** JVM heap (-Xms/-Xmx). @default '512m' (the shared one has 1g; a test needs little) */
  heap?: string;
  /** @default 180_000 */
  timeoutMs?: number;
}

export async function startPrivateCassandra(options: PrivateCassandraOptions = {}): Promise<PrivateCassandra> {
  const heap = options.heap ?? '512m';
  const timeoutMs = options.timeoutMs ?? 180_000;
  const paths = resolvePaths();
  const { lib } = await ensureFirstAvailable(paths.cacheDir, CASSANDRA_VERSIONS, cassandraArtifacts, () => undefined);
  const dir = mkdtempSync(join(tmpdir(), 'chat-private-cassandra-'));
  for (const d of ['data', 'commitlog', 'saved_caches', 'hints', 'cdc_raw', 'logs', 'triggers']) mkdirSync(join(dir, d), { recursive: true });
  const [nativePort, storagePort, jmxPort] = [await freePort(), await freePort(), await freePort()];
  writeFileSync(join(dir, 'cassandra.yaml'), renderCassandraYaml({ host: '127.0.0.1', nativePort, storagePort, dir }));
  writeFileSync(join(dir, 'logback.xml'), renderLogback());
  const jamm = findJar(lib, 'jamm-');
  const args = cassandraJvmArgs({ lib, dir, logDir: join(dir, 'logs'), jmxPort, ...(jamm ? { jamm } : {}) }).map((a) =>
    a.startsWith('-Xms') ? `-Xms${heap}` : a.startsWith('-Xmx') ? `-Xmx${heap}` : a,
  );
  const logFile = join(dir, 'cassandra.log');
  writeFileSync(logFile, '');
  const contactPoints = [`127.0.0.1:${nativePort}`];

  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  const stopOnExit = () => child?.kill('SIGKILL');
  process.once('exit', stopOnExit);
  const kill = async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  };
  const start = async () => {
    ({ child, exited } = await spawnUntilLogged(process.env.JAVA || 'java', args, {
      cwd: dir,
      logFile,
      readyLine: 'Starting listening for CQL clients',
      readyPort: nativePort,
      name: 'the private Cassandra',
      timeoutMs,
    }));
  };
  await start();
  const client = cassandraClient(contactPoints, 'datacenter1');
  try {
    await client.connect();
    await applyMigrations(client, { keyspace: 'chat', replicationFactor: 1, dir: paths.migrationsDir });
  } finally {
    await client.shutdown().catch(() => undefined);
  }
  return {
    contactPoints,
    kill,
    restart: async () => {
      await kill();
      await start();
    },
    destroy: async () => {
      await kill();
      process.removeListener('exit', stopOnExit);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
