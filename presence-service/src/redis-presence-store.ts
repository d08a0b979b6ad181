import type { Redis } from '@chat/server/clients';
import type { PresenceState } from '@chat/protocol/internal';
import { envDefault } from '@chat/server/config';
import { RedisKeys } from '@chat/server/redis';
import { DISCONNECT, HEARTBEAT, SWEEP } from './presence-scripts.js';
import type { PresenceStore, SweepResult } from './presence-store.js';

export interface RedisPresenceStoreOptions {
  /** Prefix of every key and channel (REDIS_KEY_PREFIX). */
  prefix: string;
  /** A claim lives this long after the heartbeat that made it. @default PRESENCE_TTL_SECONDS's default × 1000 */
  ttlMs?: number;
  /** Offline grace after the last disconnect. @default PRESENCE_OFFLINE_GRACE_MS's default */
  offlineGraceMs?: number;
  /** How long last-seen times are kept. @default 30 days */
  lastSeenTtlMs?: number;
  /** Users per EVALSHA / pipeline. @default 500 */
  batchSize?: number;
  /** Clock (ms). @default Date.now */
  now?: () => number;
}

/**
 * PresenceStore on one Redis (the scripts touch keys derived from the user id, so on Redis Cluster
 * run it against a single shard or per-shard instance). Cost per heartbeat and gateway: one EVALSHA
 * per `batchSize` users, each user HSET + PEXPIRE + ZADD (O(log N)); per query: one MGET of the state keys per `batchSize` users (one more round trip only for users without a state key).
 */
export class RedisPresenceStore implements PresenceStore {
  private readonly o: Required<Omit<RedisPresenceStoreOptions, 'now'>> & { now: () => number };
  private readonly keys: RedisKeys;
  private readonly online: string;
  /** ARGV[1..8] of every script: the per-user names around the user id. */
  private readonly names: string[];

  constructor(
    private readonly redis: Redis,
    options: RedisPresenceStoreOptions,
  ) {
    this.o = {
      prefix: options.prefix,
      ttlMs: options.ttlMs ?? envDefault('PRESENCE_TTL_SECONDS') * 1000,
      offlineGraceMs: options.offlineGraceMs ?? envDefault('PRESENCE_OFFLINE_GRACE_MS'),
      lastSeenTtlMs: options.lastSeenTtlMs ?? 30 * 24 * 3600 * 1000,
      batchSize: options.batchSize ?? 500,
      now: options.now ?? Date.now,
    };
    this.keys = new RedisKeys(this.o.prefix);
    this.online = this.keys.presenceOnline();
    const k = this.keys;
    this.names = [...k.aroundUser(k.presenceDevices), ...k.aroundUser(k.presenceSeen), ...k.aroundUser(k.presenceEvents), ...k.aroundUser(k.presenceState)];
  }

  async heartbeat(gatewayId: string, userIds: readonly string[]): Promise<void> {
    const deadline = this.o.now() + this.o.ttlMs;
    const hashTtl = this.o.ttlMs + this.o.offlineGraceMs + 60_000;
    for (const chunk of chunks(userIds, this.o.batchSize)) {
      await HEARTBEAT.run(this.redis, [this.online], [...this.names, gatewayId, deadline, hashTtl, ...chunk]);
    }
  }

  async disconnect(gatewayId: string, userIds: readonly string[]): Promise<void> {
    const now = this.o.now();
    for (const chunk of chunks(userIds, this.o.batchSize)) {
      await DISCONNECT.run(this.redis, [this.online], [...this.names, gatewayId, now, now + this.o.offlineGraceMs, this.o.lastSeenTtlMs, ...chunk]);
    }
  }

  async sweep(limit = 1000): Promise<SweepResult> {
    const [examined, offline] = await SWEEP.run(this.redis, [this.online], [...this.names, this.o.now(), limit, this.o.ttlMs, this.o.lastSeenTtlMs]);
    return { examined, offline };
  }

  async query(userIds: readonly string[]): Promise<PresenceState[]> {
    const out: PresenceState[] = [];
    // One MGET of the state keys per batch. A user without one (not seen since the state keys
    // were introduced, or never) is read from the online set and last-seen key instead.
    for (const chunk of chunks(userIds, this.o.batchSize)) {
      if (chunk.length === 0) continue;
      const states = await this.redis.mget(...chunk.map((u) => this.keys.presenceState(u)));
      const unknown = chunk.filter((_, i) => states[i] === null || states[i] === undefined);
      const fallback = unknown.length > 0 ? await this.readUnknown(unknown) : new Map<string, PresenceState>();
      chunk.forEach((u, i) => {
        const s = states[i];
        if (s === '1') out.push({ user_id: u, online: true });
        else if (typeof s === 'string' && s.startsWith('0:') && s.length > 2) out.push({ user_id: u, online: false, last_seen: Number(s.slice(2)) });
        else out.push(fallback.get(u) ?? { user_id: u, online: false });
      });
    }
    return out;
  }

  /** States of users without a state key: the online set's deadlines, then the last-seen times (one round trip). */
  private async readUnknown(userIds: readonly string[]): Promise<Map<string, PresenceState>> {
    const results = await this.redis
      .pipeline()
      .zmscore(this.online, ...userIds)
      .mget(...userIds.map((u) => this.keys.presenceSeen(u)))
      .exec();
    const [scores, seen] = [results?.[0], results?.[1]];
    if (!scores || !seen) throw new Error('presence query: pipeline returned no results');
    if (scores[0]) throw scores[0];
    if (seen[0]) throw seen[0];
    const online = scores[1] as (string | null)[];
    const lastSeen = seen[1] as (string | null)[];
    const out = new Map<string, PresenceState>();
    userIds.forEach((u, i) => {
      const s = lastSeen[i];
      if (online[i] !== null && online[i] !== undefined) out.set(u, { user_id: u, online: true });
      else if (typeof s === 'string' && s !== '') out.set(u, { user_id: u, online: false, last_seen: Number(s) });
    });
    return out;
  }
}

function* chunks<T>(items: readonly T[], size: number): Generator<T[]> {
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
}
