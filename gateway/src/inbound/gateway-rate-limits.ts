import type { Redis } from '@chat/server/clients';
import type { Logger } from '@chat/server/logger';
import {
  BatchedRedisRateLimiter,
  LocalRateLimiter,
  MemoryRateLimiter,
  RedisRateLimiter,
  type InstantRateLimiter,
  type RateLimiter,
} from '@chat/server/rate-limit';
import { RedisKeys } from '@chat/server/redis';
import type { ResolvedGatewayOptions } from '../gateway-options.js';

/** The limits a gateway shares with the other gateways (per-connection limits live on the socket). */
export interface GatewayRateLimits {
  /** Upgrades per source address key. */
  upgrades: InstantRateLimiter;
  /** `send` frames per user. */
  sends: InstantRateLimiter;
  /** User ids in `presence.sub` per user (rare and costly: decided exactly, awaited). */
  presenceIds: RateLimiter;
  close(): void;
}

type LimitOptions = Pick<ResolvedGatewayOptions, 'redisPrefix' | 'upgradesPerAddress' | 'sendsPerUser' | 'presenceIdsPerUser'>;

/** Limits counted in Redis across gateways (keys `<prefix>rl:<limit>:<key>`). */
export function redisGatewayRateLimits(redis: Redis, o: LimitOptions, log: Logger): GatewayRateLimits {
  const keys = new RedisKeys(o.redisPrefix);
  const upgrades = new BatchedRedisRateLimiter({ redis, keyPrefix: keys.rateLimit('upgrades'), limit: o.upgradesPerAddress, log });
  const sends = new BatchedRedisRateLimiter({ redis, keyPrefix: keys.rateLimit('sends'), limit: o.sendsPerUser, log });
  const presenceIds = new RedisRateLimiter({ redis, keyPrefix: keys.rateLimit('presence-ids'), limit: o.presenceIdsPerUser, log });
  return {
    upgrades,
    sends,
    presenceIds,
    close: () => {
      upgrades.close();
      sends.close();
    },
  };
}

/** The same limits per gateway process only (a gateway started without a Redis client for limits). */
export function localGatewayRateLimits(o: LimitOptions): GatewayRateLimits {
  const keys = new RedisKeys(o.redisPrefix);
  const upgrades = new LocalRateLimiter(o.upgradesPerAddress);
  const sends = new LocalRateLimiter(o.sendsPerUser);
  return {
    upgrades,
    sends,
    presenceIds: new MemoryRateLimiter(o.presenceIdsPerUser),
    close: () => {
      upgrades.close();
      sends.close();
    },
  };
}
