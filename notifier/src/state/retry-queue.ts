import type { ChainableCommander, Redis } from 'ioredis';
import type { TokenMessage } from 'firebase-admin/messaging';
import { RedisKeys } from '@chat/server/redis';
import { CLAIM_DUE } from './claim-due.js';

/** One push to one device waiting for another attempt. */
export interface RetryJob {
  id: string;
  userId: string;
  conversationId: string;
  deviceId: string;
  /** The FCM message, token included. */
  message: TokenMessage;
  /** Attempts made so far. */
  attempts: number;
  lastError: string;
}

/**
 * Pushes to retry, in a Redis sorted set scored by when they are due: they survive a restart, and
 * a notifier that dies mid-attempt leaves its claimed jobs to be claimed again after the lease.
 */
export class RetryQueue {
  private readonly key: string;

  constructor(
    private readonly redis: Redis,
    prefix: string,
  ) {
    this.key = new RedisKeys(prefix).notifyRetry();
  }

  /** Queues `job` in `tx` (the transaction that settles its window, WindowStore.transaction). */
  scheduleIn(tx: ChainableCommander, job: RetryJob, dueAt: number): void {
    tx.zadd(this.key, dueAt, JSON.stringify(job));
  }

  /** Removes a claimed job in `tx` (the transaction that queues its next attempt, if any). */
  doneIn(tx: ChainableCommander, claimed: string): void {
    tx.zrem(this.key, claimed);
  }

  async claimDue(now: number, leaseUntil: number, limit: number): Promise<{ raw: string; job: RetryJob }[]> {
    const raws = await CLAIM_DUE.run(this.redis, [this.key], [now, leaseUntil, limit]);
    return raws.map((raw) => ({ raw, job: JSON.parse(raw) as RetryJob }));
  }

  depth(): Promise<number> {
    return this.redis.zcard(this.key);
  }
}
