import { createRedis, createRedisSubscriber } from '@chat/server/clients';
import { createLogger } from '@chat/server/logger';
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { RedisPresenceStore } from '../src/redis-presence-store.js';
import { describePresenceStore } from './presence-store.contract.js';
import { RedisKeys } from '@chat/server/redis';

const log = createLogger('presence-store-test', 'silent');
const redis = createRedis(process.env.REDIS_URL ?? 'redis://127.0.0.1:16379', log);
const subs: ReturnType<typeof createRedisSubscriber>[] = [];
afterAll(() => {
  for (const s of subs) s.disconnect();
  redis.disconnect();
});

describePresenceStore('RedisPresenceStore', async () => {
  const prefix = `tps${randomBytes(4).toString('hex')}:`;
  let now = Date.now();
  const events: { user_id: string; online: boolean; last_seen?: number }[] = [];
  const sub = createRedisSubscriber(redis, log);
  subs.push(sub);
  sub.on('pmessage', (_p: string, _c: string, m: string) => events.push(JSON.parse(m) as (typeof events)[number]));
  await sub.psubscribe(new RedisKeys(prefix).presenceEvents('*'));
  const ttlMs = 5000;
  const graceMs = 1000;
  return {
    store: new RedisPresenceStore(redis, { prefix, ttlMs, offlineGraceMs: graceMs, now: () => now }),
    advance: (ms) => (now += ms),
    events: () => events,
    ttlMs,
    graceMs,
  };
});

describe('RedisPresenceStore state reads', () => {
  it('reads a user without a state key (written before state keys existed) from the online set and last-seen key', async () => {
    const prefix = `tps${randomBytes(4).toString('hex')}:`;
    const keys = new RedisKeys(prefix);
    const store = new RedisPresenceStore(redis, { prefix, ttlMs: 5000, offlineGraceMs: 0 });
    await store.heartbeat('g1', ['old-online']);
    await redis.del(keys.presenceState('old-online'));
    await redis.set(keys.presenceSeen('old-offline'), '1700000000000');
    expect(await store.query(['old-online', 'old-offline'])).toEqual([
      { user_id: 'old-online', online: true },
      { user_id: 'old-offline', online: false, last_seen: 1700000000000 },
    ]);
  });
});
