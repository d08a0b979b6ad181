import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { Redis } from 'ioredis';
import type { RateLimit } from '../config/index.js';
import type { Logger } from '../logger.js';
import type { RateLimiter } from './rate-limiter.js';

export interface RedisRateLimiterOptions {
  redis: Redis;
  /** Redis key prefix of this limit, e.g. `chat:rl:presence-ids`. */
  keyPrefix: string;
  limit: RateLimit;
  log: Logger;
}

/**
 * Exact across processes: one atomic INCRBY+TTL script per call (rate-limiter-flexible's
 * RateLimiterRedis). While Redis is not ready, an in-memory limiter of the same size stands in
 * (per process), so an outage neither opens the limit nor blocks every request.
 */
export class RedisRateLimiter implements RateLimiter {
  private readonly limiter: RateLimiterRedis;

  constructor(private readonly opts: RedisRateLimiterOptions) {
    const { points, durationSeconds: duration } = opts.limit;
    this.limiter = new RateLimiterRedis({
      storeClient: opts.redis,
      keyPrefix: opts.keyPrefix,
      points,
      duration,
      rejectIfRedisNotReady: true,
      insuranceLimiter: new RateLimiterMemory({ keyPrefix: opts.keyPrefix, points, duration }),
    });
  }

  async consume(key: string, points = 1): Promise<number> {
    try {
      await this.limiter.consume(key, points);
      return 0;
    } catch (res) {
      if (res instanceof RateLimiterRes) return Math.max(1, res.msBeforeNext);
      this.opts.log.warn({ err: (res as Error).message, limit: this.opts.keyPrefix }, 'rate limiter failed; allowing');
      return 0;
    }
  }
}
