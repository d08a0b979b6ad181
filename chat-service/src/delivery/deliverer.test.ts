import type { Redis } from '@chat/server/clients';
import { createLogger, type Logger } from '@chat/server/logger';
import type { SessionRegistry } from '@chat/server/routing';
import { describe, expect, it } from 'vitest';
import { Deliverer } from './deliverer.js';
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

  it("sends a gateway all of a chunk's messages in one event, in seq order", async () => {
    const { redis, published, events } = fakeRedis([null, 1]);
    const deliverer = new Deliverer(redis, 'p:', registry, async () => new Set(['bob']), { markPublishErrors: () => undefined }, createLogger('t', 'silent'));
    const second = { ...message, message_id: '2', seq: 2 };
    expect(await deliverer.deliver([message, second])).toBe(2);
    expect(published).toEqual([new RedisKeys('p:').gatewayEvents('gw-1')]);
    const event = JSON.parse(events[0]!) as { deliveries: { user_ids: string[]; frame: string; conversation_id: string }[] };
    expect(event.deliveries.map((d) => [d.user_ids, JSON.parse(d.frame).seq, d.conversation_id])).toEqual([
      [['bob'], 1, '7'],
      [['bob'], 2, '7'],
    ]);
  });
});
