import { randomBytes } from 'node:crypto';
import { createRedis } from '@chat/server/clients';
import { createLogger } from '@chat/server/logger';
import { RedisKeys } from '@chat/server/redis';
import { afterAll, describe, expect, it } from 'vitest';
import { RedisMembershipVersions } from '../src/store/membership-versions.js';

// Membership tokens against real Redis: stable until a change, replaced by each change, and never
// equal to an earlier one after Redis lost them (a cache holding the old token must reload).
const log = createLogger('membership-versions-test', 'silent');
const redis = createRedis(process.env.REDIS_URL ?? 'redis://127.0.0.1:16379', log);
afterAll(() => redis.disconnect());

describe('RedisMembershipVersions', () => {
  it('a token stays until the membership changes, and each change gives a new one', async () => {
    const prefix = `tmv${randomBytes(4).toString('hex')}:`;
    const versions = new RedisMembershipVersions(redis, prefix);
    const first = await versions.current('7');
    expect(await versions.current('7')).toBe(first);
    expect(await versions.current('8')).not.toBe(first);
    await versions.bump('7');
    const second = await versions.current('7');
    expect(second).not.toBe(first);
    await versions.bump('7');
    expect(await versions.current('7')).not.toBe(second);
    expect(await redis.ttl(new RedisKeys(prefix).membersVersion('7'))).toBeGreaterThan(3600);
  });

  it('after Redis lost a token, the token it gets anew differs from the one caches hold', async () => {
    const prefix = `tmv${randomBytes(4).toString('hex')}:`;
    const versions = new RedisMembershipVersions(redis, prefix);
    const held = await versions.current('9');
    await redis.del(new RedisKeys(prefix).membersVersion('9'));
    const renewed = await versions.current('9');
    expect(renewed).not.toBe(held);
    expect(await versions.current('9')).toBe(renewed);
  });
});
