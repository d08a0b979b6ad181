import type { Redis } from '@chat/server/clients';
import { createLogger, type Logger } from '@chat/server/logger';
import type { SessionRegistry } from '@chat/server/routing';
import { describe, expect, it } from 'vitest';
import { Deliverer, MAX_DELIVERY_FRAME_BYTES, MAX_FRAMES_PER_DELIVERY } from './deliverer.js';
import { RedisKeys } from '@chat/server/redis';

/** A Redis whose publish pipeline answers each command with `result` (as ioredis does: [err, value] pairs). */
function fakeRedis(result: [Error | null, unknown]): { redis: Redis; published: string[]; events: string[] } {
  const published: string[] = [];
  const events: string[] = [];
  const pipeline = {
    publish(channel: string, event: string) {
      published.push(channel);
      events.push(event);
      return pipeline;
    },
    exec: async () => published.map(() => result),
  };
  return { redis: { pipeline: () => pipeline } as unknown as Redis, published, events };
}

const registry: SessionRegistry = {
  register: async () => true,
  unregister: async () => undefined,
  refresh: async () => undefined,
  retireGateway: async () => undefined,
  gatewaysFor: async () => new Map([['gw-1', ['bob']]]),
};
const message = { conversation_id: '7', message_id: '1', seq: 1, epoch: 'e', sender_id: 'alice', client_msg_id: 'c', body: 'secret body', created_at: 1 };

describe('Deliverer', () => {
  it('item 8: counts publishes Redis refused and rejects instead of swallowing them', async () => {
    const { redis } = fakeRedis([new Error('OOM command not allowed'), null]);
    const errors: number[] = [];
    const logged: string[] = [];
    const log = { warn: (fields: object, msg: string) => void logged.push(JSON.stringify(fields) + msg) } as unknown as Logger;
    const deliverer = new Deliverer(redis, 'p:', registry, async () => new Set(['alice', 'bob']), { markPublishErrors: (n) => errors.push(n) }, log);
    await expect(deliverer.deliver([message])).rejects.toThrow(/1 of 1 delivery publishes failed/);
    expect(errors).toEqual([1]);
    expect(logged.join('')).toContain('delivery publishes failed');
    expect(logged.join('')).not.toContain('secret body');
  });

  it('names the conversation in each deliver event, and counts nothing when Redis took every publish', async () => {
    const { redis, published } = fakeRedis([null, 1]);
    const errors: number[] = [];
    const deliverer = new Deliverer(
      redis,
      'p:',
      registry,
      async () => new Set(['bob']),
      { markPublishErrors: (n) => errors.push(n) },
      createLogger('t', 'silent'),
    );
    expect(await deliverer.deliver([message])).toBe(1);
    expect(published).toEqual([new RedisKeys('p:').gatewayEvents('gw-1')]);
    expect(errors).toEqual([]);
  });

  it("sends a gateway a chunk's messages of one conversation as one delivery, frames in seq order", async () => {
    const { redis, published, events } = fakeRedis([null, 1]);
    const deliverer = new Deliverer(redis, 'p:', registry, async () => new Set(['bob']), { markPublishErrors: () => undefined }, createLogger('t', 'silent'));
    const second = { ...message, message_id: '2', seq: 2 };
    expect(await deliverer.deliver([message, second])).toBe(2);
    expect(published).toEqual([new RedisKeys('p:').gatewayEvents('gw-1')]);
    const event = JSON.parse(events[0]!) as { deliveries: { user_ids: string[]; frames: string[]; conversation_id: string }[] };
    expect(event.deliveries.map((d) => [d.user_ids, d.frames.map((f) => JSON.parse(f).seq), d.conversation_id])).toEqual([[['bob'], [1, 2], '7']]);
  });

  it("works out each conversation's recipients once, and splits a long run of frames into bounded deliveries", async () => {
    const { redis, events } = fakeRedis([null, 1]);
    const routes: SessionRegistry = { ...registry, gatewaysFor: async () => new Map([['gw-1', ['bob', 'carol']]]) };
    const membersOf = async (cid: string) => new Set(cid === '7' ? ['bob'] : ['carol']);
    const deliverer = new Deliverer(redis, 'p:', routes, membersOf, { markPublishErrors: () => undefined }, createLogger('t', 'silent'));
    const sevens = Array.from({ length: MAX_FRAMES_PER_DELIVERY + 1 }, (_, i) => ({ ...message, message_id: `m${i}`, seq: i + 1 }));
    const eight = { ...message, conversation_id: '8', message_id: 'x', seq: 1 };
    expect(await deliverer.deliver([sevens[0]!, eight, ...sevens.slice(1)])).toBe(sevens.length + 1);
    const deliveries = events.flatMap((e) => (JSON.parse(e) as { deliveries: { user_ids: string[]; frame?: string; frames?: string[] }[] }).deliveries);
    const seqs = (d: { frame?: string; frames?: string[] }) => (d.frames ?? [d.frame!]).map((f) => JSON.parse(f).seq as number);
    expect(deliveries.map((d) => [d.user_ids, seqs(d)])).toEqual([
      [['bob'], sevens.slice(0, MAX_FRAMES_PER_DELIVERY).map((m) => m.seq)],
      [['bob'], [sevens.length]],
      [['carol'], [1]],
    ]);
    // A lone frame goes in the `frame` form that gateways of every version read.
    expect(deliveries[1]).toHaveProperty('frame');
  });

  it('keeps a delivery of large frames near MAX_DELIVERY_FRAME_BYTES', async () => {
    const { redis, events } = fakeRedis([null, 1]);
    const deliverer = new Deliverer(redis, 'p:', registry, async () => new Set(['bob']), { markPublishErrors: () => undefined }, createLogger('t', 'silent'));
    const body = 'b'.repeat(100_000);
    const big = Array.from({ length: 12 }, (_, i) => ({ ...message, message_id: `m${i}`, seq: i + 1, body }));
    expect(await deliverer.deliver(big)).toBe(12);
    const deliveries = events.flatMap((e) => (JSON.parse(e) as { deliveries: { frame?: string; frames?: string[] }[] }).deliveries);
    expect(deliveries.map((d) => (d.frames ?? [d.frame!]).length)).toEqual([5, 5, 2]);
    for (const d of deliveries) expect((d.frames ?? [d.frame!]).join('').length).toBeLessThanOrEqual(MAX_DELIVERY_FRAME_BYTES);
  });
});
