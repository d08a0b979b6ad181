import { deliveryChannel, type ChatMessage, type GatewayEvent, type MessageFrame, type Redis, type SessionRegistry } from '@chat/shared';

/**
 * Real-time delivery: one Redis publish per (message, gateway holding members); each gateway
 * fans out to its local sockets. Best effort on top of durable storage: a device that misses a
 * publish (gateway restart, Redis blip) sees a seq gap or resumes, and fills it from history (G4).
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
    const byConversation = new Map<string, ChatMessage[]>();
    for (const m of messages) byConversation.set(m.conversation_id, [...(byConversation.get(m.conversation_id) ?? []), m]);
    let published = 0;
    await Promise.all(
      [...byConversation].map(async ([conversationId, list]) => {
        const members = await this.membersOf(conversationId);
        if (!members || members.size === 0) return;
        const gateways = await this.registry.gatewaysFor([...members]);
        const pipeline = this.redis.pipeline();
        for (const m of list) {
          const frame: MessageFrame = { type: 'message', ...m };
          const serialized = JSON.stringify(frame);
          for (const [gatewayId, userIds] of gateways) {
            const event: GatewayEvent = { v: 1, type: 'deliver', user_ids: userIds, frame: serialized };
            pipeline.publish(deliveryChannel(this.redisPrefix, gatewayId), JSON.stringify(event));
            published++;
          }
        }
        await pipeline.exec();
      }),
    );
    return published;
  }
}
