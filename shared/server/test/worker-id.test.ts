import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Errors } from '@chat/protocol';
import { createRedis, type Redis } from '@chat/server/clients';
import { loadConfig } from '@chat/server/config';
import { SnowflakeIds, leaseWorkerId, type WorkerIdLease } from '@chat/server/ids';
import { createLogger } from '@chat/server/logger';
import { waitFor } from '@chat/testing/wait';
import { RedisKeys } from '@chat/server/redis';

const config = loadConfig(process.env);
let redis: Redis;
const leases: WorkerIdLease[] = [];

beforeAll(() => {
  redis = createRedis(config.REDIS_URL, createLogger('test', 'warn'));
});

afterAll(async () => {
  for (const l of leases) await l.release();
  redis.disconnect();
});

const FAST = { ttlMs: 5000, renewMs: 100, validityMs: 1000 };
/** The id a lease lets its process mint with right now, or null while it cannot prove one. */
const minting = (l: WorkerIdLease): number | null => {
  try {
    return l.current();
  } catch (err) {
    expect((err as { def?: { code: number } }).def?.code).toBe(Errors.UNAVAILABLE.code);
    return null;
  }
};

describe('Snowflake worker-id leases (real Redis)', () => {
  it('item 5: after Redis lost the leases, the old holder stops minting its id and re-leases a NEW one; two processes never mint with one id', async () => {
    const prefix = `t${randomBytes(4).toString('hex')}:`;
    const a = await leaseWorkerId(redis, { prefix, ...FAST });
    leases.push(a);
    await a.ready();
    const oldId = a.current();
    const ids = new SnowflakeIds(a);
    expect((BigInt(ids.next()) >> 12n) & 1023n).toBe(BigInt(oldId));

    // Redis loses everything of this deployment (a restart without persistence), and another
    // process leases at once: with the counter gone it is handed the same id.
    await redis.del(...(await redis.keys(`${prefix}*`)));
    const b = await leaseWorkerId(redis, { prefix, ...FAST });
    leases.push(b);
    expect(b.workerId).toBe(oldId);

    const deadline = Date.now() + 5000;
    let sawAStop = false;
    while (Date.now() < deadline) {
      const [ia, ib] = [minting(a), minting(b)];
      if (ia !== null && ib !== null) expect(ia).not.toBe(ib);
      if (ia === null) sawAStop = true;
      if (sawAStop && ia !== null && ib !== null) break;
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(sawAStop).toBe(true);
    await waitFor(() => minting(a) !== null && minting(b) !== null, 5000, 'both leases usable');
    expect(minting(b)).toBe(oldId);
    expect(minting(a)).not.toBe(oldId); // a NEW id, never the old one without proof
    expect(() => ids.next()).not.toThrow();
  });

  it('item 5: a lease that cannot renew (its key was taken over) makes minting throw UNAVAILABLE, not mint', async () => {
    const prefix = `t${randomBytes(4).toString('hex')}:`;
    const a = await leaseWorkerId(redis, { prefix, ...FAST });
    leases.push(a);
    await a.ready();
    const id = a.workerId;
    // Someone else's token in the key (what a blind EXPIRE would have kept extending).
    await redis.set(new RedisKeys(prefix).workerIdClaim(id), 'someone-else', 'PX', 60_000);
    await waitFor(() => minting(a) === null, 2000, 'minting to stop');
    const ids = new SnowflakeIds(a);
    expect(() => ids.next()).toThrow(/worker id/);
    expect(await redis.get(new RedisKeys(prefix).workerIdClaim(id))).toBe('someone-else');
    await waitFor(() => minting(a) !== null, 5000, 'a new id');
    expect(a.current()).not.toBe(id);
  });
});
