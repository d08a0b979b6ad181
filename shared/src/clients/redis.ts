import { Redis } from 'ioredis';
import type { Logger } from '../logger.js';

export type { Redis };

/**
 * An ioredis client that retries forever with capped backoff (a Redis restart must not crash
 * a service) and logs connection state changes. Use `createRedisSubscriber(client)` for subscribers.
 */
export function createRedis(url: string, log: Logger, name = 'redis'): Redis {
  const client = new Redis(url, {
    connectionName: name,
    maxRetriesPerRequest: 3,
    enableAutoPipelining: true,
    retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 2000),
  });
  client.on('error', (err: Error) => log.warn({ err: err.message, name }, 'redis error'));
  client.on('ready', () => log.debug({ name }, 'redis ready'));
  return client;
}

/**
 * A connection for SUBSCRIBE only, sharing `client`'s options. The ready check is off because it
 * would send INFO on a connection that is already in subscriber mode after a reconnect.
 */
export function createRedisSubscriber(client: Redis, log: Logger, name = 'redis-sub'): Redis {
  const sub = client.duplicate({ connectionName: name, enableReadyCheck: false });
  sub.on('error', (err: Error) => log.warn({ err: err.message, name }, 'redis error'));
  return sub;
}
