import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedis, type Redis } from '@chat/server/clients';
import { loadConfig } from '@chat/server/config';
import { createLogger } from '@chat/server/logger';
import { RedisScript } from '@chat/server/redis';

const config = loadConfig(process.env);
const prefix = `t${randomBytes(4).toString('hex')}:script:`;
let redis: Redis;
let admin: Redis;

beforeAll(() => {
  redis = createRedis(config.REDIS_URL, createLogger('test', 'warn'));
  admin = createRedis(config.REDIS_URL, createLogger('test', 'warn'), 'admin');
});

afterAll(async () => {
  const keys = await admin.keys(`${prefix}*`);
  if (keys.length > 0) await admin.del(...keys);
  redis.disconnect();
  admin.disconnect();
});

describe('Lua scripts on an auto-pipelining client', () => {
  it('a script first run in the same tick as other commands answers every caller in step (it once crashed chat-service at start under load)', async () => {
    const script = new RedisScript<number>(`testIncr${randomBytes(3).toString('hex')}`, 1, "return redis.call('INCRBY', KEYS[1], ARGV[1])");
    // The GETs open this tick's automatic pipeline; the script's first calls join it.
    const gets = Array.from({ length: 20 }, (_, i) => redis.get(`${prefix}g${i}`));
    const runs = Array.from({ length: 20 }, (_, i) => script.run(redis, [`${prefix}n`], [i + 1]));
    const more = Array.from({ length: 20 }, (_, i) => redis.set(`${prefix}s${i}`, String(i)));
    expect(await Promise.all(gets)).toEqual(Array(20).fill(null));
    expect((await Promise.all(runs)).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => ((i + 1) * (i + 2)) / 2));
    expect(await Promise.all(more)).toEqual(Array(20).fill('OK'));
    expect(await redis.get(`${prefix}n`)).toBe('210');
  });

  it('runs again after Redis lost its script cache', async () => {
    const script = new RedisScript<string>(`testEcho${randomBytes(3).toString('hex')}`, 1, 'return ARGV[1]');
    expect(await script.run(redis, [`${prefix}e`], ['one'])).toBe('one');
    await admin.script('FLUSH');
    expect(await script.run(redis, [`${prefix}e`], ['two'])).toBe('two');
  });
});
