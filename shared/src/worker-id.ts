import type { Redis } from 'ioredis';

export interface WorkerIdLease {
  workerId: number;
  release(): Promise<void>;
}

const TTL_SECONDS = 30;

/**
 * Leases a Snowflake worker id (0..1023) unique among live processes: a Redis key per id,
 * taken with SET NX and refreshed while the process lives. A crashed process's id frees up
 * after the TTL. Ids are tried round-robin from a shared counter.
 */
export async function leaseWorkerId(redis: Redis, prefix = 'chat:'): Promise<WorkerIdLease> {
  const token = `${process.pid}:${Math.random().toString(36).slice(2)}`;
  for (let attempt = 0; attempt < 1024; attempt++) {
    const id = (await redis.incr(`${prefix}worker-id:next`)) % 1024;
    const key = `${prefix}worker-id:${id}`;
    if ((await redis.set(key, token, 'EX', TTL_SECONDS, 'NX')) !== 'OK') continue;
    const timer = setInterval(() => void redis.expire(key, TTL_SECONDS).catch(() => undefined), (TTL_SECONDS * 1000) / 3);
    timer.unref();
    return {
      workerId: id,
      release: async () => {
        clearInterval(timer);
        if ((await redis.get(key)) === token) await redis.del(key);
      },
    };
  }
  throw new Error('no free worker id: 1024 live processes hold them all');
}
