import { Redis, type RedisOptions } from 'ioredis';
import type { Config } from '../config/index.js';
import type { Logger } from '../logger.js';

export type { Redis };

/**
 * Where a service finds Redis: one server (`url`), or the master that Sentinel names. With
 * sentinels, `url` only contributes credentials, db and TLS; the master's address comes from the
 * sentinels, and clients reconnect to the promoted replica after a failover.
 */
export interface RedisTarget {
  url: string;
  /** host:port of each sentinel; empty for a single server. @default [] */
  sentinels?: readonly string[];
  /** Master name the sentinels monitor. @default 'chat-redis' */
  sentinelName?: string;
}

/** The target from REDIS_URL, REDIS_SENTINELS and REDIS_SENTINEL_NAME. */
export function redisTargetFromConfig(c: Pick<Config, 'REDIS_URL' | 'REDIS_SENTINELS' | 'REDIS_SENTINEL_NAME'>): RedisTarget {
  return { url: c.REDIS_URL, sentinels: c.REDIS_SENTINELS, sentinelName: c.REDIS_SENTINEL_NAME };
}

function sentinelOptions(t: RedisTarget): Pick<RedisOptions, 'sentinels' | 'name' | 'sentinelRetryStrategy'> {
  const sentinels = (t.sentinels ?? []).map((hp) => {
    const i = hp.lastIndexOf(':');
    return { host: hp.slice(0, i), port: Number(hp.slice(i + 1)) };
  });
  if (sentinels.length === 0) return {};
  // When every sentinel is unreachable, keep asking (capped backoff) instead of giving up.
  return { sentinels, name: t.sentinelName ?? 'chat-redis', sentinelRetryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 2000) };
}

/**
 * An ioredis client that retries forever with capped backoff (a Redis restart or failover must
 * not crash a service) and logs connection state changes. `target` is a URL or a RedisTarget
 * (Sentinel). Use `createRedisSubscriber(client)` for subscribers.
 */
export function createRedis(target: string | RedisTarget, log: Logger, name = 'redis'): Redis {
  const t: RedisTarget = typeof target === 'string' ? { url: target } : target;
  const client = new Redis(t.url, {
    connectionName: name,
    maxRetriesPerRequest: 3,
    enableAutoPipelining: true,
    retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 2000),
    ...sentinelOptions(t),
  });
  client.on('error', (err: Error) => log.warn({ err, name }, 'redis error'));
  client.on('ready', () => log.debug({ name }, 'redis ready'));
  return client;
}

/**
 * A connection for SUBSCRIBE only, sharing `client`'s options (sentinels included). The ready
 * check is off because it would send INFO on a connection that is already in subscriber mode after
 * a reconnect.
 */
export function createRedisSubscriber(client: Redis, log: Logger, name = 'redis-sub'): Redis {
  const sub = client.duplicate({ connectionName: name, enableReadyCheck: false });
  sub.on('error', (err: Error) => log.warn({ err, name }, 'redis error'));
  return sub;
}
