import type { GatewayEvent } from '@chat/protocol/internal';
import type { Redis } from 'ioredis';
import { RedisKeys } from '../redis/keys.js';

/** One frame for some users of one gateway. */
export interface GatewayDelivery {
  gatewayId: string;
  userIds: string[];
  /** The serialized server frame. */
  frame: string;
  /** Set for chat messages: the gateway notes which conversations each socket uses. */
  conversationId?: string;
  /** Set for chat messages: when the sequencer published it (epoch ms). */
  sequencedAtMs?: number;
}

/**
 * The one publisher of GatewayEvents: a `deliver` event per gateway on its Redis channel
 * (RedisKeys.gatewayEvents), all of one call in one pipeline. At-most-once (Redis pub/sub):
 * a gateway that misses an event has its clients fill the gap from history (G4).
 */
export class GatewayEventPublisher {
  private readonly keys: RedisKeys;

  constructor(
    private readonly redis: Redis,
    prefix: string,
  ) {
    this.keys = new RedisKeys(prefix);
  }

  /** Resolves with how many events were published and the errors of those Redis refused. */
  async publish(deliveries: Iterable<GatewayDelivery>): Promise<{ published: number; errors: Error[] }> {
    const pipeline = this.redis.pipeline();
    let published = 0;
    for (const d of deliveries) {
      const event: GatewayEvent = { v: 1, type: 'deliver', user_ids: d.userIds, frame: d.frame };
      if (d.conversationId !== undefined) event.conversation_id = d.conversationId;
      if (d.sequencedAtMs !== undefined) event.sequenced_at_ms = d.sequencedAtMs;
      pipeline.publish(this.keys.gatewayEvents(d.gatewayId), JSON.stringify(event));
      published++;
    }
    if (published === 0) return { published, errors: [] };
    // exec() resolves even when single commands failed: each result carries its own error.
    const results = (await pipeline.exec()) ?? [];
    const errors = results.flatMap(([err]) => (err ? [err] : []));
    return { published, errors };
  }
}
