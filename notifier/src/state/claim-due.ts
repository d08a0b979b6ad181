import { RedisScript } from '@chat/server/redis';

/**
 * Claims the members of a sorted set due by now for a lease: their score moves to the lease's end,
 * so a notifier that dies while handling them leaves them to be claimed again. KEYS: the set.
 * ARGV: now, lease end, limit. Returns the claimed members.
 */
export const CLAIM_DUE = new RedisScript<string[]>(
  'notifyClaimDue',
  1,
  `
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
for _, m in ipairs(due) do redis.call('ZADD', KEYS[1], 'XX', ARGV[2], m) end
return due`,
);
