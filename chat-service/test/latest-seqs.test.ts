import { randomBytes } from 'node:crypto';
import type { ChatMessage } from '@chat/protocol';
import { createRedis } from '@chat/server/clients';
import { createLogger } from '@chat/server/logger';
import { RedisKeys } from '@chat/server/redis';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { LatestSeqs } from '../src/read/latest-seqs.js';

// The digest's latest seqs against real Redis: what the sequencer raised is served without storage,
// a conversation Redis does not know is read from storage once, and nothing ever lowers a seq.
const log = createLogger('latest-seqs-test', 'silent');
const redis = createRedis(process.env.REDIS_URL ?? 'redis://127.0.0.1:16379', log);
afterAll(() => redis.disconnect());

const TTL_SECONDS = 60;

function fixture() {
  const prefix = `tls${randomBytes(4).toString('hex')}:`;
  const stored = new Map<string, number>();
  const storageReads: string[][] = [];
  const storage = {
    lastSeqs: async (ids: string[]) => {
      storageReads.push(ids);
      return new Map(ids.map((id) => [id, stored.get(id) ?? 0] as const));
    },
  };
  return { prefix, keys: new RedisKeys(prefix), latest: new LatestSeqs(redis, prefix, TTL_SECONDS), stored, storage, storageReads };
}

const message = (conversationId: string, seq: number, epoch = '1'): ChatMessage => ({
  conversation_id: conversationId,
  message_id: String(1000 + seq),
  seq,
  epoch,
  sender_id: 'alice',
  client_msg_id: `c${seq}`,
  body: 'hi',
  created_at: Date.now(),
});

describe('LatestSeqs (digest latest seqs in Redis)', () => {
  it('item 8: seqs the sequencer raised are served from Redis, without a storage read', async () => {
    const f = fixture();
    await f.latest.raise([message('11', 1), message('11', 3), message('11', 2), message('12', 7)]);
    const seqs = await f.latest.get(
      [
        { conversationId: '11', epoch: '1' },
        { conversationId: '12', epoch: '1' },
      ],
      f.storage,
    );
    expect(Object.fromEntries(seqs)).toEqual({ '11': 3, '12': 7 });
    expect(f.storageReads).toEqual([]);
    const ttl = await redis.ttl(f.keys.latestSeq('11', '1'));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(TTL_SECONDS);
  });

  it('item 8: a conversation Redis does not know (quiet, or Redis lost it) is read from storage once and written back', async () => {
    const f = fixture();
    f.stored.set('21', 42);
    const ask = () => f.latest.get([{ conversationId: '21', epoch: '1' }], f.storage);
    expect((await ask()).get('21')).toBe(42);
    expect((await ask()).get('21')).toBe(42);
    expect(f.storageReads).toEqual([['21']]);
    await redis.del(f.keys.latestSeq('21', '1')); // Redis lost it
    f.stored.set('21', 43);
    expect((await ask()).get('21')).toBe(43);
    expect(f.storageReads).toEqual([['21'], ['21']]);
  });

  it('item 8: nothing lowers a seq: a late raise or a write-back of an older storage read keeps the higher one', async () => {
    const f = fixture();
    await f.latest.raise([message('31', 10)]);
    await f.latest.raise([message('31', 4)]);
    expect((await f.latest.get([{ conversationId: '31', epoch: '1' }], f.storage)).get('31')).toBe(10);
    // A write-back racing the sequencer: storage read 5 while the sequencer raised the key to 10.
    f.stored.set('32', 5);
    const racing = f.latest.get([{ conversationId: '32', epoch: '1' }], {
      lastSeqs: async (ids) => {
        await f.latest.raise([message('32', 10)]);
        return f.storage.lastSeqs(ids);
      },
    });
    expect((await racing).get('32')).toBe(5); // what storage said at the time
    expect((await f.latest.get([{ conversationId: '32', epoch: '1' }], f.storage)).get('32')).toBe(10);
  });

  it('item 8: a new epoch starts from its own numbering, not the old epoch seq', async () => {
    const f = fixture();
    await f.latest.raise([message('41', 900, '1')]);
    f.stored.set('41', 2);
    expect((await f.latest.get([{ conversationId: '41', epoch: '2' }], f.storage)).get('41')).toBe(2);
  });

  it('item 8: with Redis failing, every seq comes from storage and nothing throws', async () => {
    const f = fixture();
    // Nothing listens on port 1: every command fails at once.
    const broken = new Redis('redis://127.0.0.1:1', { maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
    broken.on('error', () => undefined);
    try {
      f.stored.set('51', 9);
      const latest = new LatestSeqs(broken, f.prefix, TTL_SECONDS);
      expect((await latest.get([{ conversationId: '51', epoch: '1' }], f.storage)).get('51')).toBe(9);
      await expect(latest.raise([message('51', 10)])).rejects.toThrow();
    } finally {
      broken.disconnect();
    }
  });
});
