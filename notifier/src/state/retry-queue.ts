import type { ChainableCommander, Redis } from 'ioredis';
import type { TokenMessage } from 'firebase-admin/messaging';

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

// Claims due jobs for a lease (their score moves to the lease end). KEYS: zset. ARGV: now, lease end, limit.
const CLAIM = `
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
for _, m in ipairs(due) do redis.call('ZADD', KEYS[1], 'XX', ARGV[2], m) end
return due`;

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
    this.key = `${prefix}notify:retry`;
    if (!('notifyRetryClaim' in redis)) redis.defineCommand('notifyRetryClaim', { numberOfKeys: 1, lua: CLAIM });
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
    const run = (this.redis as unknown as Record<string, (...a: (string | number)[]) => Promise<string[]>>).notifyRetryClaim!;
    const raws = await run.call(this.redis, this.key, now, leaseUntil, limit);
    return raws.map((raw) => ({ raw, job: JSON.parse(raw) as RetryJob }));
  }

  depth(): Promise<number> {
    return this.redis.zcard(this.key);
  }
}
