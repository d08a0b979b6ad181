import { deliveryChannel, pushTo, type ChatMessage, type GatewayEvent, type MessageFrame, type Redis, type SessionRegistry } from '@chat/shared';

/**
 * Real-time delivery: one Redis publish per (message, gateway holding members); each gateway
 * fans out to its local sockets. Best effort on top of durable storage: a device that misses a
 * publish (gateway restart, Redis blip) sees a seq gap or resumes, and fills it from history (G4).
 * A whole chunk of messages costs one routing lookup and one publish pipeline.
 */
export class Deliverer {
  constructor(
    private readonly redis: Redis,
    private readonly redisPrefix: string,
    private readonly registry: SessionRegistry,
    private readonly membersOf: (conversationId: string) => Promise<Set<string> | null>,
  ) {}

  /** Returns how many gateway events were published. */
  async deliver(messages: ChatMessage[]): Promise<number> {
    const conversations = [...new Set(messages.map((m) => m.conversation_id))];
    const members = new Map(await Promise.all(conversations.map(async (cid) => [cid, (await this.membersOf(cid)) ?? new Set<string>()] as const)));
    const everyone = new Set<string>();
    for (const set of members.values()) for (const u of set) everyone.add(u);
    const userGateways = invert(await this.registry.gatewaysFor([...everyone]));

    const pipeline = this.redis.pipeline();
    let published = 0;
    for (const m of messages) {
      const byGateway = new Map<string, string[]>();
      for (const userId of members.get(m.conversation_id) ?? []) {
        for (const gatewayId of userGateways.get(userId) ?? []) pushTo(byGateway, gatewayId, userId);
      }
      if (byGateway.size === 0) continue;
      const frame: MessageFrame = { type: 'message', ...m };
      const serialized = JSON.stringify(frame);
      for (const [gatewayId, userIds] of byGateway) {
        const event: GatewayEvent = { v: 1, type: 'deliver', user_ids: userIds, frame: serialized };
        pipeline.publish(deliveryChannel(this.redisPrefix, gatewayId), JSON.stringify(event));
        published++;
      }
    }
    if (published > 0) await pipeline.exec();
    return published;
  }
}

/** gateway → users  ⇒  user → gateways */
function invert(byGateway: Map<string, string[]>): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [gatewayId, users] of byGateway) for (const u of users) pushTo(out, u, gatewayId);
  return out;
}
