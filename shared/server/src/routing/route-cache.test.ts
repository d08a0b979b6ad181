import { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';
import { beforeEach, describe, expect, it } from 'vitest';
import { RouteCache } from './route-cache.js';

const channel = 'chat:routes-changed';

/** A subscriber connection that subscribes at once; the test emits its events. */
function fakeSubscriber(): EventEmitter & { subscribe(): Promise<number> } {
  return Object.assign(new EventEmitter(), { subscribe: async () => 1 });
}

function cached(cache: RouteCache, userIds: string[]): Record<string, string[]> {
  const found: Record<string, string[]> = {};
  cache.collect(userIds, (userId, gateways) => {
    found[userId] = gateways;
  });
  return found;
}

/** A read through the cache whose reply the test gives later: `answer()` (these answers) or `fail()`. */
function reading(cache: RouteCache, answers: Record<string, string[]>): { answer(): Promise<void>; fail(): Promise<void> } {
  let reply!: (routes: string[][]) => void;
  let refuse!: (err: Error) => void;
  const read = cache.read(Object.keys(answers), () => new Promise<string[][]>((resolve, reject) => ([reply, refuse] = [resolve, reject])));
  return {
    answer: async () => {
      reply(Object.values(answers));
      await read;
    },
    fail: async () => {
      refuse(new Error('Redis down'));
      await expect(read).rejects.toThrow('Redis down');
    },
  };
}

const store = (cache: RouteCache, answers: Record<string, string[]>) => reading(cache, answers).answer();

describe('RouteCache', () => {
  let sub: ReturnType<typeof fakeSubscriber>;
  let cache: RouteCache;

  beforeEach(async () => {
    sub = fakeSubscriber();
    cache = new RouteCache({ channel, ttlMs: 60_000 });
    await cache.listen(sub as unknown as Redis);
  });

  it('serves what a lookup read (no gateway included) and names the users it does not know', async () => {
    await store(cache, { alice: ['gw-a', 'gw-b'], bob: [] });

    const found: Record<string, string[]> = {};
    const missing = cache.collect(['alice', 'bob', 'carol'], (u, g) => {
      found[u] = g;
    });

    expect(found).toEqual({ alice: ['gw-a', 'gw-b'], bob: [] });
    expect(missing).toEqual(['carol']);
  });

  it("drops a user's routes on their invalidation and ignores other channels", async () => {
    await store(cache, { alice: ['gw-a'], bob: ['gw-b'] });

    sub.emit('message', channel, 'alice');
    sub.emit('message', 'chat:members-changed', 'bob');

    expect(cached(cache, ['alice', 'bob'])).toEqual({ bob: ['gw-b'] });
  });

  it('does not keep an answer that an invalidation of its user overtook, but keeps the others', async () => {
    const read = reading(cache, { alice: [], bob: ['gw-b'] });
    sub.emit('message', channel, 'alice'); // alice connected after the read; her reply is older
    await read.answer();

    expect(cached(cache, ['alice', 'bob'])).toEqual({ bob: ['gw-b'] });

    await store(cache, { alice: ['gw-a'] }); // a lookup that started after the invalidation is kept
    expect(cached(cache, ['alice'])).toEqual({ alice: ['gw-a'] });
  });

  it('remembers an overtaking invalidation for every lookup running at the time', async () => {
    const first = reading(cache, { alice: [] });
    const second = reading(cache, { alice: [] });
    sub.emit('message', channel, 'alice');
    await first.answer();
    await second.answer();

    expect(cached(cache, ['alice'])).toEqual({});
  });

  it('remembers invalidations only as long as a lookup that began before them runs, though lookups overlap without pause', async () => {
    let running = reading(cache, {});
    for (let i = 0; i < 1000; i++) {
      sub.emit('message', channel, `user-${i}`);
      const next = reading(cache, i === 999 ? { alice: [] } : {}); // the next lookup starts before the previous one ends
      await running.answer();
      running = next;
      expect(cache.remembered).toBeLessThanOrEqual(1);
    }
    sub.emit('message', channel, 'alice');
    await running.answer();

    expect(cached(cache, ['alice'])).toEqual({}); // the last one was still overtaken
    expect(cache.remembered).toBe(0);
  });

  it('keeps nothing after a failed read', async () => {
    await reading(cache, { alice: ['gw-a'] }).fail();

    expect(cached(cache, ['alice'])).toEqual({});
    await store(cache, { alice: ['gw-a'] });
    expect(cached(cache, ['alice'])).toEqual({ alice: ['gw-a'] });
  });

  it('forgets everything when the subscription drops and keeps nothing read before it is back', async () => {
    await store(cache, { alice: ['gw-a'] });
    const before = reading(cache, { alice: ['gw-a'] });

    sub.emit('close');
    expect(cached(cache, ['alice'])).toEqual({});
    await store(cache, { alice: ['gw-a'] }); // read while invalidations are not heard
    expect(cached(cache, ['alice'])).toEqual({});

    const during = reading(cache, { alice: ['gw-a'] });
    sub.emit('ready');
    await new Promise((resolve) => setImmediate(resolve));
    await before.answer();
    await during.answer();
    expect(cached(cache, ['alice'])).toEqual({});

    await store(cache, { alice: ['gw-b'] });
    expect(cached(cache, ['alice'])).toEqual({ alice: ['gw-b'] });
  });

  it('lets an entry lapse after its time', async () => {
    const short = new RouteCache({ channel, ttlMs: 40 });
    await short.listen(fakeSubscriber() as unknown as Redis);
    await store(short, { alice: ['gw-a'] });
    expect(cached(short, ['alice'])).toEqual({ alice: ['gw-a'] });

    await new Promise((resolve) => setTimeout(resolve, 50));

    expect(cached(short, ['alice'])).toEqual({});
  });

  it('keeps at most maxUsers, dropping the entries stored first', async () => {
    const small = new RouteCache({ channel, ttlMs: 60_000, maxUsers: 2 });
    await small.listen(fakeSubscriber() as unknown as Redis);
    await store(small, { alice: ['gw-a'], bob: ['gw-b'] });
    await store(small, { alice: ['gw-c'] }); // stored again: now the newest
    await store(small, { carol: ['gw-a'] });

    expect(cached(small, ['alice', 'bob', 'carol'])).toEqual({ alice: ['gw-c'], carol: ['gw-a'] });
    expect(small.size).toBe(2);
  });
});
