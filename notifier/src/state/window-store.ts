import type { ChainableCommander, Redis } from 'ioredis';
import { RedisKeys, RedisScript } from '@chat/server/redis';
import { CLAIM_DUE } from './claim-due.js';

/**
 * Collapse windows in Redis, one per (user, conversation): how many messages arrived since the
 * last push and the highest seq among them, plus a due set ordered by when each window's push is
 * due. All state lives here, not in the notifier's memory, so a restarted notifier resumes every
 * open window and counts no message twice (a window ignores seqs at or below its highest).
 */

// KEYS: window hash, due set. ARGV: seq, epoch, due at (ms), due member, ttl seconds, preview ('' = none), now (ms).
// A window that opens remembers when (first_at) and its delay, so a remainder left after a push
// waits the same delay again and the grace period counts from the window's first message.
const ADD = new RedisScript<number>(
  'notifyWindowAdd',
  2,
  `
local seq = tonumber(ARGV[1])
if redis.call('HGET', KEYS[1], 'epoch') ~= ARGV[2] then
  redis.call('HSET', KEYS[1], 'epoch', ARGV[2], 'last_seq', 0)
end
if seq <= tonumber(redis.call('HGET', KEYS[1], 'last_seq') or '0') then return 0 end
local n = redis.call('HINCRBY', KEYS[1], 'count', 1)
redis.call('HSET', KEYS[1], 'last_seq', seq, 'preview', ARGV[6])
redis.call('EXPIRE', KEYS[1], ARGV[5])
if n == 1 then
  redis.call('HSET', KEYS[1], 'first_at', ARGV[7], 'delay', tonumber(ARGV[3]) - tonumber(ARGV[7]))
  redis.call('ZADD', KEYS[2], 'NX', ARGV[3], ARGV[4])
end
return n`,
);

// A window's push is settled (sent, queued for retry, or suppressed) for `count` messages: those
// leave the window; messages that arrived meanwhile form the next window, due after the window's
// delay from now. KEYS: window, due. ARGV: count, member, now (ms).
const COMPLETE = new RedisScript<number>(
  'notifyWindowComplete',
  2,
  `
local n = redis.call('HINCRBY', KEYS[1], 'count', -tonumber(ARGV[1]))
if n <= 0 then
  redis.call('HSET', KEYS[1], 'count', 0)
  redis.call('ZREM', KEYS[2], ARGV[2])
else
  redis.call('HSET', KEYS[1], 'first_at', ARGV[3])
  redis.call('ZADD', KEYS[2], tonumber(ARGV[3]) + tonumber(redis.call('HGET', KEYS[1], 'delay') or '0'), ARGV[2])
end
return n`,
);

export interface WindowKey {
  userId: string;
  conversationId: string;
}

export interface WindowSnapshot extends WindowKey {
  count: number;
  lastSeq: number;
  epoch: string;
  preview: string;
  /** When the window's first message arrived (ms). */
  firstAt: number;
}

export class WindowStore {
  private readonly keys: RedisKeys;
  private readonly dueKey: string;

  constructor(
    private readonly redis: Redis,
    prefix: string,
    private readonly ttlSeconds = 7 * 24 * 3600,
  ) {
    this.keys = new RedisKeys(prefix);
    this.dueKey = this.keys.notifyDue();
    // Defined before any pipeline or transaction is made: ADD and COMPLETE are queued in them.
    ADD.define(redis);
    COMPLETE.define(redis);
  }

  private windowKey(k: WindowKey): string {
    return this.keys.notifyWindow(k.userId, k.conversationId);
  }

  private member(k: WindowKey): string {
    // User ids never contain '|' (USER_ID_PATTERN); conversation ids are digits.
    return `${k.conversationId}|${k.userId}`;
  }

  /** Adds message `seq` to each recipient's window; a new window is due at `dueAt(recipient)`. */
  async add(
    conversationId: string,
    seq: number,
    epoch: string,
    recipients: readonly { userId: string; dueAt: number }[],
    preview: string,
    now = Date.now(),
  ): Promise<void> {
    for (let i = 0; i < recipients.length; i += 500) {
      const pipeline = this.redis.pipeline();
      for (const r of recipients.slice(i, i + 500)) {
        const k = { userId: r.userId, conversationId };
        ADD.queue(pipeline, [this.windowKey(k), this.dueKey], [seq, epoch, r.dueAt, this.member(k), this.ttlSeconds, preview, now]);
      }
      await execAll(pipeline);
    }
  }

  /** Windows due by `now`, leased until `leaseUntil`, with their contents. */
  async claimDue(now: number, leaseUntil: number, limit: number): Promise<WindowSnapshot[]> {
    const members = await CLAIM_DUE.run(this.redis, [this.dueKey], [now, leaseUntil, limit]);
    if (members.length === 0) return [];
    const keys = members.map((m) => {
      const bar = m.indexOf('|');
      return { conversationId: m.slice(0, bar), userId: m.slice(bar + 1) };
    });
    const pipeline = this.redis.pipeline();
    for (const k of keys) pipeline.hmget(this.windowKey(k), 'count', 'last_seq', 'epoch', 'preview', 'first_at');
    const rows = (await pipeline.exec()) ?? [];
    return keys.map((k, i) => {
      const [count, lastSeq, epoch, preview, firstAt] = (rows[i]?.[1] as (string | null)[] | undefined) ?? [];
      return { ...k, count: Number(count ?? 0), lastSeq: Number(lastSeq ?? 0), epoch: epoch ?? '', preview: preview ?? '', firstAt: Number(firstAt ?? 0) };
    });
  }

  /** A transaction to settle windows (and queue retries, RetryQueue.scheduleIn) atomically. */
  transaction(): ChainableCommander {
    return this.redis.multi();
  }

  /**
   * In `tx`: the push for the snapshot's `count` messages is settled; later messages stay as the
   * next window. Settling a window in the same transaction as the retries its push queued means a
   * notifier that dies at any point leaves the window either unsettled (pushed again after the
   * lease) or settled with its retries queued, never half of each.
   */
  completeIn(tx: ChainableCommander, w: WindowKey, count: number, now: number): void {
    COMPLETE.queue(tx, [this.windowKey(w), this.dueKey], [count, this.member(w), now]);
  }

  async complete(w: WindowKey, count: number, now: number): Promise<void> {
    const tx = this.transaction();
    this.completeIn(tx, w, count, now);
    await execAll(tx);
  }

  /** Claimed windows become due again at `dueAt` (a grace period not over yet, or state that could not be read). */
  async defer(ws: readonly WindowKey[], dueAt: number): Promise<void> {
    if (ws.length === 0) return;
    const tx = this.transaction();
    for (const w of ws) tx.zadd(this.dueKey, 'XX', dueAt, this.member(w));
    await execAll(tx);
  }
}

/** Runs a transaction or pipeline; any command's error rejects. */
export async function execAll(tx: ChainableCommander): Promise<void> {
  const results = (await tx.exec()) ?? [];
  const failed = results.find(([err]) => err);
  if (failed) throw failed[0] as Error;
}
