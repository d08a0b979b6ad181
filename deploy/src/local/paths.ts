import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root: this file lives at <repo>/deploy/{src,dist}/local/paths.{ts,js}. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

export type ComponentName = 'redis' | 'kafka' | 'cassandra' | 's3';
export const COMPONENTS: readonly ComponentName[] = ['redis', 'kafka', 'cassandra', 's3'];

export interface Paths {
  /** Everything mutable (data, logs, pid files, generated configs). */
  readonly dataDir: string;
  /** Downloaded jars, outside the repository so `git clean` / `--purge` keep them. */
  readonly cacheDir: string;
  readonly runDir: string;
  readonly logDir: string;
  readonly migrationsDir: string;
  /** Per process (a component of the single-node profile, or a node such as `kafka-2`). */
  componentDir(c: ComponentName | string): string;
  pidFile(c: ComponentName | string): string;
  logFile(c: ComponentName | string): string;
}

/** Paths of the single-node profile (CHAT_DATA_DIR, default <repo>/.data). */
export function resolvePaths(env: NodeJS.ProcessEnv = process.env): Paths {
  return pathsUnder(resolve(env.CHAT_DATA_DIR || join(REPO_ROOT, '.data')), env);
}

/**
 * Paths of the replicated profile (CHAT_REPLICATED_DATA_DIR, default <repo>/.replicated-data):
 * apart from the single-node profile's, so both can exist (and neither name contains the other,
 * which the "is this pid ours" check relies on).
 */
export function resolveReplicatedPaths(env: NodeJS.ProcessEnv = process.env): Paths {
  return pathsUnder(resolve(env.CHAT_REPLICATED_DATA_DIR || join(REPO_ROOT, '.replicated-data')), env);
}

function pathsUnder(dataDir: string, env: NodeJS.ProcessEnv): Paths {
  const cacheDir = resolve(env.CHAT_CACHE_DIR || join(homedir(), '.cache', 'chat-backend'));
  const runDir = join(dataDir, 'run');
  const logDir = join(dataDir, 'logs');
  return {
    dataDir,
    cacheDir,
    runDir,
    logDir,
    migrationsDir: resolve(env.CHAT_MIGRATIONS_DIR || join(REPO_ROOT, 'deploy', 'cassandra')),
    componentDir: (c) => join(dataDir, c),
    pidFile: (c) => join(runDir, `${c}.pid`),
    logFile: (c) => join(logDir, `${c}.log`),
  };
}
