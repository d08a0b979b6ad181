import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import type { RateLimit } from '../config/index.js';
import { LocalWindows } from './local-windows.js';
import type { InstantRateLimiter, RateLimiter } from './rate-limiter.js';

/** An InstantRateLimiter for one process only (no shared store), e.g. a gateway started without Redis. */
export class LocalRateLimiter implements InstantRateLimiter {
  private readonly windows: LocalWindows;
  private readonly timer: NodeJS.Timeout;

  constructor(limit: RateLimit) {
    this.windows = new LocalWindows(limit);
    this.timer = setInterval(() => this.windows.sweep(Date.now()), Math.min(limit.durationSeconds * 1000, 60_000));
    this.timer.unref();
  }

  take(key: string, points = 1): number {
    return this.windows.take(key, points, Date.now());
  }

  close(): void {
    clearInterval(this.timer);
  }
}

/** A RateLimiter for one process only (rate-limiter-flexible's RateLimiterMemory). */
export class MemoryRateLimiter implements RateLimiter {
  private readonly limiter: RateLimiterMemory;

  constructor(limit: RateLimit) {
    this.limiter = new RateLimiterMemory({ points: limit.points, duration: limit.durationSeconds });
  }

  async consume(key: string, points = 1): Promise<number> {
    try {
      await this.limiter.consume(key, points);
      return 0;
    } catch (res) {
      if (res instanceof RateLimiterRes) return Math.max(1, res.msBeforeNext);
      throw res;
    }
  }
}
