import type { Redis } from 'ioredis';
import { pushTo } from '../collections.js';
import { envDefault } from '../config/env-default.js';
import { RedisKeys } from '../redis/keys.js';
import { RedisScript } from '../redis/script.js';
import { RouteCache } from './route-cache.js';
import type { SessionRegistry } from './session-registry.js';

export interface RedisSessionRegistryOptions {
  /** REDIS_KEY_PREFIX, so tests and tenants can share a Redis. */
  prefix: string;
  /** TTL of a user's connection hash and of a gateway's liveness key. @default SESSION_TTL_SECONDS's default */
  ttlSeconds?: number;
  /** Keeps users' routes between `gatewaysFor` calls (listening to the invalidations `register` and `unregister` publish). */
  routeCache?: RouteCache;
}

/**
 * The registry of a process that looks routes up for deliveries (chat-service, presence-service):
 * it keeps users' routes for `routeCacheMs` (0: reads them every time), listening on `sub` for the
 * invalidations every register and unregister publishes.
 */
export async function sessionRegistryForDelivery(
  redis: Redis,
  sub: Redis,
  o: { prefix: string; ttlSeconds: number; routeCacheMs: number },
): Promise<RedisSessionRegistry> {
  if (o.routeCacheMs <= 0) return new RedisSessionRegistry(redis, { prefix: o.prefix, ttlSeconds: o.ttlSeconds });
  const routeCache = new RouteCache({ channel: new RedisKeys(o.prefix).routesChanged(), ttlMs: o.routeCacheMs });
  await routeCache.listen(sub);
  return new RedisSessionRegistry(redis, { prefix: o.prefix, ttlSeconds: o.ttlSeconds, routeCache });
}

/**
 * A connection entry's value: `<gateway id>|<deadline ms>`. The deadline moves forward with every
 * refresh; an entry past it belongs to a gateway that stopped refreshing (crashed) or to a
 * connection whose unregister was lost, and is neither counted nor routed to. A value without a
 * deadline (written by an older gateway) counts until its key expires.
 */
function entryValue(gatewayId: string, deadlineMs: number): string {
  return `${gatewayId}|${deadlineMs}`;
}

// Registers atomically so two gateways cannot both admit the user's (max+1)th connection. Entries
// past their deadline are deleted first, so a crashed gateway's connections stop counting within
// the TTL even while another connection keeps the key alive. A registration publishes the user's id
// to the route caches (in the script, so no registration goes unannounced).
// ARGV: connection id, entry value, max per user, ttl seconds, now ms, invalidation channel, user id.
const REGISTER = new RedisScript<number>(
  'chatRegisterConnection',
  1,
  `
local now = tonumber(ARGV[5])
local fields = redis.call('HGETALL', KEYS[1])
local n = 0
for i = 1, #fields, 2 do
  local deadline = tonumber(string.match(fields[i + 1], '|(%d+)$'))
  if deadline ~= nil and deadline <= now then
    redis.call('HDEL', KEYS[1], fields[i])
  elseif fields[i] ~= ARGV[1] then
    n = n + 1
  end
end
if n >= tonumber(ARGV[3]) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[4])
redis.call('PUBLISH', ARGV[6], ARGV[7])
return 1`,
);

// Deletes a connection entry and announces the user to the route caches in one command, so no
// unregistration that took effect goes unannounced (a gateway crashing between two commands could
// leave a cached route to a socket that is gone). KEYS: connection hash. ARGV: connection id,
// invalidation channel, user id.
const UNREGISTER = new RedisScript<number>(
  'chatUnregisterConnection',
  1,
  `
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('PUBLISH', ARGV[2], ARGV[3])
return 1`,
);

// Each user's gateways: the ids of their connection entries whose deadline has not passed (a value
// without one counts, see entryValue), each gateway named once.
// KEYS: connection hashes; ARGV: now ms. Returns, per key, a list of gateway ids.
const ROUTES = new RedisScript<string[][]>(
  'chatRoutesOfUsers',
  'any',
  `
local now = tonumber(ARGV[1])
local out = {}
for i, key in ipairs(KEYS) do
  local values = redis.call('HVALS', key)
  local seen, ids = {}, {}
  for _, value in ipairs(values) do
    local id, deadline = string.match(value, '^(.*)|(%d+)$')
    if id == nil then id = value end
    if (deadline == nil or tonumber(deadline) > now) and not seen[id] then
      seen[id] = true
      ids[#ids + 1] = id
    end
  end
  out[i] = ids
end
return out`,
);

/** Users per routing script call: each call holds Redis for about a millisecond. */
const CHUNK = 500;
const LIVENESS_CACHE_MS = 1000;

export class RedisSessionRegistry implements SessionRegistry {
  private readonly keys: RedisKeys;
  private readonly ttl: number;
  private readonly liveness = new Map<string, { alive: boolean; until: number }>();
  private readonly routeCache: RouteCache | undefined;

  constructor(
    private readonly redis: Redis,
    options: RedisSessionRegistryOptions,
  ) {
    this.keys = new RedisKeys(options.prefix);
    this.ttl = options.ttlSeconds ?? envDefault('SESSION_TTL_SECONDS');
    this.routeCache = options.routeCache;
  }

  private userKey(userId: string): string {
    return this.keys.userConnections(userId);
  }

  private aliveKey(gatewayId: string): string {
    return this.keys.gatewayAlive(gatewayId);
  }

  /** The gateway's liveness key is kept by `refresh` (which a gateway runs at start and periodically). */
  async register(userId: string, connectionId: string, gatewayId: string, maxPerUser: number): Promise<boolean> {
    const now = Date.now();
    return (
      (await REGISTER.run(
        this.redis,
        [this.userKey(userId)],
        [connectionId, entryValue(gatewayId, now + this.ttl * 1000), maxPerUser, this.ttl, now, this.keys.routesChanged(), userId],
      )) === 1
    );
  }

  async unregister(userId: string, connectionId: string): Promise<void> {
    await UNREGISTER.run(this.redis, [this.userKey(userId)], [connectionId, this.keys.routesChanged(), userId]);
  }

  async refresh(gatewayId: string, connections: Iterable<readonly [userId: string, connectionId: string]>): Promise<void> {
    let pipeline = this.redis.pipeline().set(this.aliveKey(gatewayId), '1', 'EX', this.ttl);
    const value = entryValue(gatewayId, Date.now() + this.ttl * 1000);
    let n = 0;
    for (const [userId, connectionId] of connections) {
      pipeline.hset(this.userKey(userId), connectionId, value).expire(this.userKey(userId), this.ttl);
      if (++n % CHUNK === 0) {
        await pipeline.exec();
        pipeline = this.redis.pipeline();
      }
    }
    await pipeline.exec();
  }

  async retireGateway(gatewayId: string): Promise<void> {
    await this.redis.del(this.aliveKey(gatewayId));
  }

  async gatewaysFor(userIds: readonly string[]): Promise<Map<string, string[]>> {
    const byGateway = new Map<string, string[]>();
    const add = (userId: string, gateways: string[]) => {
      for (const gatewayId of gateways) pushTo(byGateway, gatewayId, userId);
    };
    const missing = this.routeCache ? this.routeCache.collect(userIds, add) : userIds;
    if (missing.length > 0) {
      const read = (users: readonly string[]) => this.routesOf(users);
      const routes = this.routeCache ? await this.routeCache.read(missing, read) : await read(missing);
      for (const [i, gateways] of routes.entries()) add(missing[i]!, gateways);
    }
    // Liveness is checked at every call, cached routes or not: a crashed gateway is skipped within a second.
    const alive = await this.liveGateways([...byGateway.keys()]);
    for (const gatewayId of byGateway.keys()) if (!alive.has(gatewayId)) byGateway.delete(gatewayId);
    return byGateway;
  }

  /** Each user's gateways (of unexpired entries), in the order of `userIds`. */
  private async routesOf(userIds: readonly string[]): Promise<string[][]> {
    const chunks: string[][] = [];
    for (let i = 0; i < userIds.length; i += CHUNK) chunks.push(userIds.slice(i, i + CHUNK));
    // One script call per chunk, all in flight at once: a 10,000-member group costs one round trip
    // and twenty replies, not 10,000 commands to encode and answer in this process.
    const now = Date.now();
    const replies = await Promise.all(
      chunks.map((chunk) =>
        ROUTES.run(
          this.redis,
          chunk.map((u) => this.userKey(u)),
          [now],
        ),
      ),
    );
    return replies.flat();
  }

  /** Which of these gateways still refresh their liveness key; answers are reused for a second. */
  private async liveGateways(gatewayIds: string[]): Promise<Set<string>> {
    const now = Date.now();
    const unknown = gatewayIds.filter((id) => (this.liveness.get(id)?.until ?? 0) <= now);
    if (unknown.length > 0) {
      const pipeline = this.redis.pipeline();
      for (const id of unknown) pipeline.exists(this.aliveKey(id));
      const results = (await pipeline.exec()) ?? [];
      unknown.forEach((id, k) => this.liveness.set(id, { alive: results[k]?.[1] === 1, until: now + LIVENESS_CACHE_MS }));
    }
    return new Set(gatewayIds.filter((id) => this.liveness.get(id)?.alive));
  }
}
