import { type EventDelivery, type GatewayEvent, MAX_FRAMES_PER_EVENT } from '@chat/protocol/internal';
import type { Redis } from 'ioredis';
import { pushTo } from '../collections.js';
import { RedisKeys } from '../redis/keys.js';

/** Frames for some users of one gateway. */
export interface GatewayDelivery {
  gatewayId: string;
  userIds: string[];
  /** The serialized server frames, in order (at most MAX_FRAMES_PER_EVENT). */
  frames: string[];
  /** Set for chat messages: the gateway notes which conversations each socket uses. */
  conversationId?: string;
  /** Set for chat messages: when the sequencer published it (epoch ms). */
  sequencedAtMs?: number;
}

/**
 * The one publisher of GatewayEvents: the deliveries of one call for one gateway go in one
 * `deliver` event on its Redis channel (RedisKeys.gatewayEvents; at most MAX_FRAMES_PER_EVENT
 * frames each, in order), all events of the call in one pipeline. At-most-once (Redis pub/sub): a
 * gateway that misses an event has its clients fill the gap from history (G4).
 */
export class GatewayEventPublisher {
  private readonly keys: RedisKeys;

  constructor(
    private readonly redis: Redis,
    prefix: string,
  ) {
    this.keys = new RedisKeys(prefix);
  }

  /** Resolves with how many frames Redis took, how many it refused (in refused events) and its errors. */
  async publish(deliveries: Iterable<GatewayDelivery>): Promise<{ published: number; failed: number; errors: Error[] }> {
    const byGateway = new Map<string, EventDelivery[]>();
    for (const d of deliveries) {
      // One frame goes as `frame`, the form every gateway version reads.
      const item: EventDelivery = d.frames.length === 1 ? { user_ids: d.userIds, frame: d.frames[0]! } : { user_ids: d.userIds, frames: d.frames };
      if (d.conversationId !== undefined) item.conversation_id = d.conversationId;
      if (d.sequencedAtMs !== undefined) item.sequenced_at_ms = d.sequencedAtMs;
      pushTo(byGateway, d.gatewayId, item);
    }
    const pipeline = this.redis.pipeline();
    const sizes: number[] = [];
    const send = (gatewayId: string, items: EventDelivery[], frames: number): void => {
      const event: GatewayEvent = { v: 1, type: 'deliver', deliveries: items };
      pipeline.publish(this.keys.gatewayEvents(gatewayId), JSON.stringify(event));
      sizes.push(frames);
    };
    for (const [gatewayId, items] of byGateway) {
      let [start, frames] = [0, 0];
      for (const [i, item] of items.entries()) {
        const n = frameCount(item);
        if (frames + n > MAX_FRAMES_PER_EVENT && i > start) {
          send(gatewayId, items.slice(start, i), frames);
          [start, frames] = [i, 0];
        }
        frames += n;
      }
      send(gatewayId, items.slice(start), frames);
    }
    if (sizes.length === 0) return { published: 0, failed: 0, errors: [] };
    // exec() resolves even when single commands failed: each result carries its own error.
    const results = (await pipeline.exec()) ?? [];
    let [published, failed] = [0, 0];
    const errors: Error[] = [];
    results.forEach(([err], i) => {
      if (err) {
        errors.push(err);
        failed += sizes[i]!;
      } else published += sizes[i]!;
    });
    return { published, failed, errors };
  }
}

function frameCount(item: EventDelivery): number {
  return item.frames?.length ?? 1;
}
