import { spawnSync } from 'node:child_process';
import { connect } from 'node:net';
import { join } from 'node:path';
import { loadConfigVars } from '@chat/server/config';

/** The first Redis, Kafka and Cassandra endpoint of `env`, with the env table's defaults. */
function endpoints(env: NodeJS.ProcessEnv): { name: string; host: string; port: number }[] {
  const c = loadConfigVars(['REDIS_URL', 'KAFKA_BROKERS', 'CASSANDRA_CONTACT_POINTS'], env);
  const hp = (s: string) => {
    const [host, port] = s.trim().split(':');
    return { host: host || '127.0.0.1', port: Number(port) };
  };
  const redis = new URL(c.REDIS_URL);
  return [
    { name: 'redis', host: redis.hostname, port: Number(redis.port || '6379') },
    { name: 'kafka', ...hp(c.KAFKA_BROKERS[0]!) },
    { name: 'cassandra', ...hp(c.CASSANDRA_CONTACT_POINTS[0]!) },
  ];
}

function reachable(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    s.setTimeout(1000, () => {
      s.destroy();
      resolve(false);
    });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** Components whose port does not accept connections. */
export async function missingInfra(env: NodeJS.ProcessEnv = process.env): Promise<string[]> {
  const out: string[] = [];
  for (const e of endpoints(env)) if (!(await reachable(e.host, e.port))) out.push(`${e.name} ${e.host}:${e.port}`);
  return out;
}

/** Ensures Redis, Kafka and Cassandra are reachable, running `deploy/dist/local/cli.js up` once if not. */
export async function ensureInfra(repoRoot: string, log: (m: string) => void): Promise<void> {
  let missing = await missingInfra();
  if (missing.length === 0) return;
  log(`infrastructure not reachable (${missing.join(', ')}); running deploy/dist/local/cli.js up`);
  const r = spawnSync(process.execPath, [join(repoRoot, 'deploy/dist/local/cli.js'), 'up'], { cwd: repoRoot, stdio: 'inherit', timeout: 600_000 });
  if (r.status !== 0) throw new Error(`infra up failed (exit ${r.status})`);
  missing = await missingInfra();
  if (missing.length > 0) throw new Error(`infrastructure still not reachable: ${missing.join(', ')}`);
}
