import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { Redis } from 'ioredis';
import type { RateLimit } from '../config/index.js';
import type { Logger } from '../logger.js';
import { LocalWindows, type WindowSlot } from './local-windows.js';
import type { InstantRateLimiter } from './rate-limiter.js';

export interface BatchedRedisRateLimiterOptions {
  redis: Redis;
  /** Redis key prefix of this limit, e.g. `chat:rl:sends`. */
  keyPrefix: string;
  limit: RateLimit;
  log: Logger;
  /** How often consumption is reported to Redis. @default 1000 */
  flushMs?: number;
}

/**
 * An InstantRateLimiter whose answer never waits for Redis:
 * - each process enforces the whole limit for its own traffic in memory (a flood through one
 *   gateway is cut at the exact point);
 * - every `flushMs` the points taken since the last report are added to the shared window in
 *   Redis with rate-limiter-flexible's atomic script (one EVALSHA per active key, auto-pipelined);
 *   a key found over the limit there is refused here until that window ends.
 * So a key spread over several processes exceeds the limit by at most what those processes take
 * in one flush interval. Redis unavailable: the per-process limit still holds.
 */
export class BatchedRedisRateLimiter implements InstantRateLimiter {
  private readonly windows: LocalWindows;
  private readonly dirty = new Set<string>();
  private readonly shared: RateLimiterRedis;
  private readonly timer: NodeJS.Timeout;
  private flushing = false;
  private lastWarn = 0;

  constructor(private readonly opts: BatchedRedisRateLimiterOptions) {
    this.windows = new LocalWindows(opts.limit);
    this.shared = new RateLimiterRedis({
      storeClient: opts.redis,
      keyPrefix: opts.keyPrefix,
      points: opts.limit.points,
      duration: opts.limit.durationSeconds,
      rejectIfRedisNotReady: true,
    });
    this.timer = setInterval(() => void this.flush(), opts.flushMs ?? 1000);
    this.timer.unref();
  }

  take(key: string, points = 1): number {
    const wait = this.windows.take(key, points, Date.now());
    if (wait > 0) return wait;
    const slot = this.windows.slots.get(key);
    if (slot) slot.pending += points;
    this.dirty.add(key);
    return 0;
  }

  close(): void {
    clearInterval(this.timer);
  }

  /** Reports pending consumption (one call per dirty key); exposed for tests. */
  async flush(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    try {
      const batch: [string, WindowSlot, number][] = [];
      for (const key of this.dirty) {
        const slot = this.windows.slots.get(key);
        if (slot && slot.pending > 0) batch.push([key, slot, slot.pending]);
        if (slot) slot.pending = 0;
      }
      this.dirty.clear();
      await Promise.all(batch.map(([key, slot, points]) => this.report(key, slot, points)));
      this.windows.sweep(Date.now());
    } finally {
      this.flushing = false;
    }
  }

  private async report(key: string, slot: WindowSlot, points: number): Promise<void> {
    try {
      await this.shared.consume(key, points);
    } catch (res) {
      if (res instanceof RateLimiterRes) {
        slot.blockedUntil = Date.now() + Math.max(1, res.msBeforeNext);
        return;
      }
      const now = Date.now();
      if (now - this.lastWarn > 10_000) {
        this.lastWarn = now;
        this.opts.log.warn({ err: (res as Error).message, limit: this.opts.keyPrefix }, 'rate limit report to Redis failed; limiting per process');
      }
    }
  }
}
