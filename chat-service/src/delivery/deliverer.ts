import type { ChatMessage, MessageFrame } from '@chat/protocol';
import type { Redis } from '@chat/server/clients';
import { pushTo } from '@chat/server/collections';
import type { Logger } from '@chat/server/logger';
import { GatewayEventPublisher, type GatewayDelivery, type SessionRegistry } from '@chat/server/routing';

/** What the deliverer reports. */
export interface DeliveryMetrics {
  /** Delivery events Redis refused (the messages are stored; clients find them through sync, the digest or a gap). */
  markPublishErrors(count: number): void;
}

/**
 * Real-time delivery: one delivery per (message, gateway holding members), all of a gateway's in
 * one Redis publish per call (GatewayEventPublisher); each gateway fans out to its local sockets.
 * Best effort on top of durable storage: a device that misses a publish (gateway restart, Redis
 * blip) sees a seq gap or resumes, and fills it from history (G4).
 * A whole chunk of messages costs one routing lookup and one publish pipeline. Publishes Redis
 * refuses are counted and logged (never their content), then the call rejects.
 */
export class Deliverer {
  private readonly publisher: GatewayEventPublisher;

  constructor(
    redis: Redis,
    redisPrefix: string,
    private readonly registry: SessionRegistry,
    private readonly membersOf: (conversationId: string) => Promise<Set<string> | null>,
    private readonly metrics: DeliveryMetrics,
    private readonly log: Logger,
  ) {
    this.publisher = new GatewayEventPublisher(redis, redisPrefix);
  }

  /** Returns how many (message, gateway) deliveries were published. */
  async deliver(messages: ChatMessage[]): Promise<number> {
    const conversations = [...new Set(messages.map((m) => m.conversation_id))];
    const members = new Map(await Promise.all(conversations.map(async (cid) => [cid, (await this.membersOf(cid)) ?? new Set<string>()] as const)));
    const everyone = new Set<string>();
    for (const set of members.values()) for (const u of set) everyone.add(u);
    const userGateways = invert(await this.registry.gatewaysFor([...everyone]));

    const sequencedAt = Date.now();
    const deliveries: GatewayDelivery[] = [];
    for (const m of messages) {
      const byGateway = new Map<string, string[]>();
      for (const userId of members.get(m.conversation_id) ?? []) {
        for (const gatewayId of userGateways.get(userId) ?? []) pushTo(byGateway, gatewayId, userId);
      }
      if (byGateway.size === 0) continue;
      const frame: MessageFrame = { type: 'message', ...m };
      const serialized = JSON.stringify(frame);
      for (const [gatewayId, userIds] of byGateway) {
        deliveries.push({ gatewayId, userIds, frame: serialized, conversationId: m.conversation_id, sequencedAtMs: sequencedAt });
      }
    }
    const { published, failed, errors } = await this.publisher.publish(deliveries);
    if (failed > 0) {
      this.metrics.markPublishErrors(failed);
      this.log.warn({ failed, published, err: errors[0]!.message }, 'delivery publishes failed');
      throw new Error(`${failed} of ${published + failed} delivery publishes failed`);
    }
    return published;
  }
}

/** gateway → users  ⇒  user → gateways */
function invert(byGateway: Map<string, string[]>): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [gatewayId, users] of byGateway) for (const u of users) pushTo(out, u, gatewayId);
  return out;
}
