import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedis, type Redis } from '@chat/server/clients';
import { loadConfig } from '@chat/server/config';
import { createLogger } from '@chat/server/logger';
import { RedisKeys } from '@chat/server/redis';
import { RedisSessionRegistry } from '@chat/server/routing';

const config = loadConfig(process.env);
const prefix = `t${randomBytes(4).toString('hex')}:routes:`;
const keys = new RedisKeys(prefix);
let redis: Redis;
let registry: RedisSessionRegistry;

beforeAll(() => {
  redis = createRedis(config.REDIS_URL, createLogger('test', 'warn'));
  registry = new RedisSessionRegistry(redis, { prefix, ttlSeconds: 60 });
});

afterAll(async () => {
  const left = await redis.keys(`${prefix}*`);
  if (left.length > 0) await redis.del(...left);
  redis.disconnect();
});

/** A gatewaysFor answer with each gateway's users sorted, so assertions do not depend on lookup order. */
function sorted(byGateway: Map<string, string[]>): Record<string, string[]> {
  return Object.fromEntries([...byGateway].map(([g, users]) => [g, [...users].sort()]));
}

describe('RedisSessionRegistry.gatewaysFor (delivery routing)', () => {
  it('routes each user to the live gateways of their unexpired connections, skipping stale entries, dead gateways and unknown users', async () => {
    const odd = 'gw odd|name';
    for (const g of ['gw-a', 'gw-b', odd]) await registry.refresh(g, []);
    expect(await registry.register('alice', 'c1', 'gw-a', 5)).toBe(true);
    expect(await registry.register('alice', 'c2', 'gw-b', 5)).toBe(true);
    expect(await registry.register('bob', 'c3', odd, 5)).toBe(true);
    // carol's only entry is past its deadline (its gateway crashed before unregistering it).
    await redis.hset(keys.userConnections('carol'), 'c4', `gw-a|${Date.now() - 1000}`);
    // dave's entry was written without a deadline (an older gateway): it counts until the key expires.
    await redis.hset(keys.userConnections('dave'), 'c5', 'gw-b');
    // erin is on a gateway that stopped refreshing its liveness key.
    await redis.hset(keys.userConnections('erin'), 'c6', `gw-gone|${Date.now() + 60_000}`);

    const routes = await registry.gatewaysFor(['alice', 'bob', 'carol', 'dave', 'erin', 'nobody']);

    expect(sorted(routes)).toEqual({ 'gw-a': ['alice'], 'gw-b': ['alice', 'dave'], [odd]: ['bob'] });
  });

  it('resolves a 10,000-member audience (many lookups in flight) with every user on the right gateway', async () => {
    const gateways = ['gw-1', 'gw-2', 'gw-3', 'gw-4'];
    for (const g of gateways) await registry.refresh(g, []);
    const users = Array.from({ length: 10_000 }, (_, i) => `member-${i}`);
    const online = users.filter((_, i) => i % 5 !== 0);
    const pipeline = redis.pipeline();
    for (const [i, u] of online.entries()) pipeline.hset(keys.userConnections(u), `conn-${i}`, `${gateways[i % 4]}|${Date.now() + 60_000}`);
    await pipeline.exec();

    const routes = await registry.gatewaysFor(users);

    const expected: Record<string, string[]> = {};
    for (const [i, u] of online.entries()) (expected[gateways[i % 4]!] ??= []).push(u);
    for (const g of gateways) expected[g]!.sort();
    expect(sorted(routes)).toEqual(expected);
  });

  it('answers an empty audience without asking Redis for anything', async () => {
    expect((await registry.gatewaysFor([])).size).toBe(0);
  });
});
