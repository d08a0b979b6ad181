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
 * per `batchSize` users, each user HSET + PEXPIRE + ZADD (O(log N)); per query: one ZMSCORE and one MGET per `batchSize` users (one round trip).
 */
export class RedisPresenceStore implements PresenceStore {
  private readonly o: Required<Omit<RedisPresenceStoreOptions, 'now'>> & { now: () => number };
  private readonly keys: RedisKeys;
  private readonly online: string;
  /** ARGV[1..6] of every script: the per-user names around the user id. */
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
    this.names = [...k.aroundUser(k.presenceDevices), ...k.aroundUser(k.presenceSeen), ...k.aroundUser(k.presenceEvents)];
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
    // Two commands per batch whatever its size: the deadlines from the online set, then the last-seen times.
    for (const chunk of chunks(userIds, this.o.batchSize)) {
      if (chunk.length === 0) continue;
      const results = await this.redis
        .pipeline()
        .zmscore(this.online, ...chunk)
        .mget(...chunk.map((u) => this.keys.presenceSeen(u)))
        .exec();
      const [scores, seen] = [results?.[0], results?.[1]];
      if (!scores || !seen) throw new Error('presence query: pipeline returned no results');
      if (scores[0]) throw scores[0];
      if (seen[0]) throw seen[0];
      const online = scores[1] as (string | null)[];
      const lastSeen = seen[1] as (string | null)[];
      chunk.forEach((u, i) => {
        const s = lastSeen[i];
        if (online[i] !== null && online[i] !== undefined) out.push({ user_id: u, online: true });
        else if (typeof s === 'string' && s !== '') out.push({ user_id: u, online: false, last_seen: Number(s) });
        else out.push({ user_id: u, online: false });
      });
    }
    return out;
  }
}

function* chunks<T>(items: readonly T[], size: number): Generator<T[]> {
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
}
