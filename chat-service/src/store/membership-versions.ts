import { randomBytes } from 'node:crypto';
import type { Redis } from '@chat/server/clients';
import { RedisKeys, RedisScript } from '@chat/server/redis';

/** The key's token, or ARGV[1] stored as a new one when it has none. */
const CURRENT_OR_NEW = new RedisScript<string>(
  'chatMembersVersion',
  1,
  `local v = redis.call('GET', KEYS[1])
if v then return v end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return ARGV[1]`,
);

/** How long a conversation's token lives in Redis unchanged; a token that expired is replaced, and caches reload. */
const TOKEN_TTL_SECONDS = 24 * 3600;

/**
 * A token per conversation that changes with every membership change (RedisKeys.membersVersion),
 * so a cached member list can be confirmed with one Redis read instead of reloading it from
 * Cassandra. Tokens are random, never counters: after Redis lost its data a recreated token
 * cannot equal one a cache still holds, so such a cache reloads.
 */
export interface MembershipVersions {
  /** The conversation's token (one is created when it has none). Read before the list it is stored with. */
  current(conversationId: string): Promise<string>;
  /** Replaces the token: every list cached with the old one is reloaded at its next confirmation. */
  bump(conversationId: string): Promise<void>;
}

export class RedisMembershipVersions implements MembershipVersions {
  private readonly keys: RedisKeys;

  constructor(
    private readonly redis: Redis,
    prefix: string,
  ) {
    this.keys = new RedisKeys(prefix);
  }

  current(conversationId: string): Promise<string> {
    return CURRENT_OR_NEW.run(this.redis, [this.keys.membersVersion(conversationId)], [newToken(), TOKEN_TTL_SECONDS]);
  }

  async bump(conversationId: string): Promise<void> {
    await this.redis.set(this.keys.membersVersion(conversationId), newToken(), 'EX', TOKEN_TTL_SECONDS);
  }
}

const newToken = (): string => randomBytes(8).toString('base64url');
