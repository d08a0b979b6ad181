import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { redisReady } from '@chat/deploy/local/readiness';
import { renderRedisConf } from '@chat/deploy/local/redis';
import { freePort, waitFor } from './wait.js';

/**
 * A throwaway Redis owned by one test file, on its own port, configured like `npm run infra`'s
 * (nothing kept on disk): restart() is a restart with all data lost. Never touch the shared Redis.
 */
export interface PrivateRedis {
  url: string;
  /** SIGKILL, then start an empty Redis on the same port; resolves when it answers. */
  restart(): Promise<void>;
  kill(): Promise<void>;
  destroy(): Promise<void>;
}

export async function startPrivateRedis(): Promise<PrivateRedis> {
  const bin = process.env.CHAT_REDIS_SERVER || 'redis-server';
  const dir = mkdtempSync(join(tmpdir(), 'chat-private-redis-'));
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  const conf = join(dir, 'redis.conf');
  writeFileSync(conf, renderRedisConf({ host: '127.0.0.1', port, dir }));
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
    const c = spawn(bin, [conf], { cwd: dir, stdio: 'ignore' });
    child = c;
    exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
    await waitFor(
      async () => {
        if (c.exitCode !== null) throw new Error(`private Redis exited with ${c.exitCode}`);
        return redisReady(url).then(
          () => true,
          () => false,
        );
      },
      20_000,
      'the private Redis to start',
    );
  };
  await start();
  return {
    url,
    restart: async () => {
      await kill();
      await start();
    },
    kill,
    destroy: async () => {
      await kill();
      process.removeListener('exit', stopOnExit);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
