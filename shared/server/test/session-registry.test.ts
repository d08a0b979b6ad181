import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedis, createRedisSubscriber, type Redis } from '@chat/server/clients';
import { loadConfig } from '@chat/server/config';
import { createLogger } from '@chat/server/logger';
import { RedisKeys } from '@chat/server/redis';
import { RedisSessionRegistry, RouteCache } from '@chat/server/routing';

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

describe('RedisSessionRegistry with a RouteCache', () => {
  const subName = `${prefix.replaceAll(':', '-')}sub`;
  let sub: Redis;
  let cache: RouteCache;
  let cached: RedisSessionRegistry;

  beforeAll(async () => {
    sub = createRedisSubscriber(redis, createLogger('test', 'silent'), subName);
    cache = new RouteCache({ channel: keys.routesChanged(), ttlMs: 60_000 });
    await cache.listen(sub);
    cached = new RedisSessionRegistry(redis, { prefix, ttlSeconds: 60, routeCache: cache });
    for (const g of ['gw-a', 'gw-b', 'gw-c']) await registry.refresh(g, []);
  });

  afterAll(() => sub.disconnect());

  /** The user's gateways as the cached registry answers them, sorted. */
  async function routesOf(userId: string): Promise<string[]> {
    return [...(await cached.gatewaysFor([userId])).keys()].sort();
  }

  /** Asks until the answer is `expected` (an invalidation travels through Redis pub/sub). */
  async function eventually(userId: string, expected: string[]): Promise<void> {
    const deadline = Date.now() + 5000;
    while ((await routesOf(userId)).join() !== expected.join()) {
      if (Date.now() > deadline) expect(await routesOf(userId)).toEqual(expected);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /**
   * Resolves once the cache has heard the user's invalidation (this listener runs after the cache's
   * on the same connection).
   */
  function heard(userId: string): Promise<void> {
    return new Promise((resolve) => {
      const onMessage = (channel: string, message: string) => {
        if (channel !== keys.routesChanged() || message !== userId) return;
        sub.off('message', onMessage);
        resolve();
      };
      sub.on('message', onMessage);
    });
  }

  async function registered(userId: string, connectionId: string, gatewayId: string): Promise<void> {
    const announced = heard(userId);
    expect(await registry.register(userId, connectionId, gatewayId, 5)).toBe(true);
    await announced;
  }

  /** A connection written behind the registry's back: no invalidation is published. */
  const sneakIn = (userId: string, connectionId: string, gatewayId: string) =>
    redis.hset(keys.userConnections(userId), connectionId, `${gatewayId}|${Date.now() + 60_000}`);

  it('answers from the cache until a register or unregister of the user announces a change', async () => {
    await registered('frank', 'f1', 'gw-a');
    expect(await routesOf('frank')).toEqual(['gw-a']);
    await sneakIn('frank', 'f9', 'gw-c');
    expect(await routesOf('frank')).toEqual(['gw-a']); // cached: the sneaked entry is not read

    await registered('frank', 'f2', 'gw-b');
    expect(await routesOf('frank')).toEqual(['gw-a', 'gw-b', 'gw-c']);

    const announced = heard('frank');
    await registry.unregister('frank', 'f1');
    await announced;
    expect(await routesOf('frank')).toEqual(['gw-b', 'gw-c']);
  });

  it('drops every cached route when its subscriber connection is cut, and caches again once it is back', async () => {
    await registered('gina', 'g1', 'gw-a');
    expect(await routesOf('gina')).toEqual(['gw-a']);
    await sneakIn('gina', 'g9', 'gw-b');
    expect(await routesOf('gina')).toEqual(['gw-a']);

    const clients = String(await redis.client('LIST')).split('\n');
    const subId = clients.find((line) => line.includes(` name=${subName} `))?.match(/^id=(\d+)/)?.[1];
    expect(subId).toBeDefined();
    await redis.client('KILL', 'ID', subId!);
    await eventually('gina', ['gw-a', 'gw-b']); // read again: invalidations may have been missed

    // Back and listening: a lookup is kept again and a registration drops it again.
    const deadline = Date.now() + 5000;
    while (cache.size === 0 && Date.now() < deadline) {
      await routesOf('gina');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await sneakIn('gina', 'g8', 'gw-c');
    expect(await routesOf('gina')).toEqual(['gw-a', 'gw-b']);
    await registered('gina', 'g2', 'gw-a');
    expect(await routesOf('gina')).toEqual(['gw-a', 'gw-b', 'gw-c']);
  });

  it('an unregistration deletes the entry and announces the user in one command: a gateway crashing in between cannot leave a kept route', async () => {
    await registered('hana', 'h1', 'gw-a');
    const monitor = await redis.monitor();
    const commands: string[][] = [];
    // Commands from clients only (those a script runs show as source "lua"); the echo marks the end.
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      if (source !== 'lua' && args.some((a) => a.includes('hana'))) commands.push(args);
    });
    const announced = heard('hana');
    await registry.unregister('hana', 'h1');
    await announced;
    await redis.echo('hana done');
    const deadline = Date.now() + 5000;
    while (!commands.some((c) => c.includes('hana done')) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    monitor.disconnect();
    const sent = commands.filter((c) => !c.includes('hana done')).map((c) => c[0]!.toLowerCase());
    expect(sent.length).toBeGreaterThan(0);
    expect(sent.filter((name) => name !== 'evalsha' && name !== 'eval')).toEqual([]);
    expect(await redis.hexists(keys.userConnections('hana'), 'h1')).toBe(0);
  });
});
