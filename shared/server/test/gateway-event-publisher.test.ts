import { MAX_FRAMES_PER_EVENT } from '@chat/protocol/internal';
import type { Redis } from '@chat/server/clients';
import { RedisKeys } from '@chat/server/redis';
import { describe, expect, it } from 'vitest';
import { GatewayEventPublisher, type GatewayDelivery } from '@chat/server/routing';

/** A Redis whose publish pipeline records each event and answers `results` in turn (then success). */
function fakeRedis(results: [Error | null, unknown][] = []): { redis: Redis; events: { channel: string; frames: number }[] } {
  const events: { channel: string; frames: number }[] = [];
  const pipeline = {
    publish(channel: string, text: string) {
      const event = JSON.parse(text) as { deliveries: { frame?: string; frames?: string[] }[] };
      events.push({ channel, frames: event.deliveries.reduce((n, d) => n + (d.frames?.length ?? 1), 0) });
      return pipeline;
    },
    exec: async () => events.map((_, i) => results[i] ?? [null, 1]),
  };
  return { redis: { pipeline: () => pipeline } as unknown as Redis, events };
}

const delivery = (frames: number, gatewayId = 'gw-1'): GatewayDelivery => ({
  gatewayId,
  userIds: ['bob'],
  frames: Array.from({ length: frames }, (_, i) => `{"n":${i}}`),
});

describe('GatewayEventPublisher', () => {
  it('packs whole deliveries into events of at most MAX_FRAMES_PER_EVENT frames, per gateway', async () => {
    const { redis, events } = fakeRedis();
    const publisher = new GatewayEventPublisher(redis, 'p:');
    const deliveries = [...Array.from({ length: 5 }, () => delivery(64)), delivery(1), delivery(3, 'gw-2')];
    expect(await publisher.publish(deliveries)).toEqual({ published: 5 * 64 + 1 + 3, failed: 0, errors: [] });
    const keys = new RedisKeys('p:');
    expect(events.map((e) => [e.channel, e.frames])).toEqual([
      [keys.gatewayEvents('gw-1'), MAX_FRAMES_PER_EVENT],
      [keys.gatewayEvents('gw-1'), 65],
      [keys.gatewayEvents('gw-2'), 3],
    ]);
  });

  it('counts the frames of the events Redis refused', async () => {
    const { redis } = fakeRedis([[new Error('OOM'), null]]);
    const publisher = new GatewayEventPublisher(redis, 'p:');
    const result = await publisher.publish([delivery(2), delivery(1, 'gw-2')]);
    expect(result).toMatchObject({ published: 1, failed: 2 });
    expect(result.errors.map((e) => e.message)).toEqual(['OOM']);
  });
});
