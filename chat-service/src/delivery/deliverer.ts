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

/** Most frames in one delivery: a chunk's messages of one conversation go in deliveries of at most this many. */
export const MAX_FRAMES_PER_DELIVERY = 64;
/** ... and at most about this many bytes of frames (a delivery holds at least one frame). */
export const MAX_DELIVERY_FRAME_BYTES = 512 * 1024;

/**
 * Real-time delivery: for each conversation of a chunk and each gateway holding its members, one
 * delivery with the conversation's frames in seq order, all of a gateway's in one Redis publish
 * per call (GatewayEventPublisher); each gateway writes them to its local sockets, all of a
 * socket's frames at once. Best effort on top of durable storage: a device that misses a publish
 * (gateway restart, Redis blip) sees a seq gap or resumes, and fills it from history (G4).
 * A whole chunk of messages costs one routing lookup and one publish pipeline, and a conversation's
 * recipients are worked out once per chunk, not once per message. Publishes Redis refuses are
 * counted and logged (never their content), then the call rejects.
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
    const byConversation = new Map<string, ChatMessage[]>();
    for (const m of messages) pushTo(byConversation, m.conversation_id, m);
    const members = new Map(await Promise.all([...byConversation.keys()].map(async (cid) => [cid, (await this.membersOf(cid)) ?? new Set<string>()] as const)));
    const everyone = new Set<string>();
    for (const set of members.values()) for (const u of set) everyone.add(u);
    const userGateways = invert(await this.registry.gatewaysFor([...everyone]));

    const sequencedAt = Date.now();
    const deliveries: GatewayDelivery[] = [];
    for (const [conversationId, conversationMessages] of byConversation) {
      const byGateway = new Map<string, string[]>();
      for (const userId of members.get(conversationId)!) {
        for (const gatewayId of userGateways.get(userId) ?? []) pushTo(byGateway, gatewayId, userId);
      }
      if (byGateway.size === 0) continue;
      for (const frames of frameGroups(conversationMessages)) {
        for (const [gatewayId, userIds] of byGateway) deliveries.push({ gatewayId, userIds, frames, conversationId, sequencedAtMs: sequencedAt });
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

/** The messages' serialized frames, in order, in groups of at most MAX_FRAMES_PER_DELIVERY frames and about MAX_DELIVERY_FRAME_BYTES. */
function* frameGroups(messages: ChatMessage[]): Generator<string[]> {
  let group: string[] = [];
  let bytes = 0;
  for (const m of messages) {
    const frame: MessageFrame = { type: 'message', ...m };
    const serialized = JSON.stringify(frame);
    if (group.length > 0 && (group.length === MAX_FRAMES_PER_DELIVERY || bytes + serialized.length > MAX_DELIVERY_FRAME_BYTES)) {
      yield group;
      [group, bytes] = [[], 0];
    }
    group.push(serialized);
    bytes += serialized.length;
  }
  if (group.length > 0) yield group;
}

/** gateway → users  ⇒  user → gateways */
function invert(byGateway: Map<string, string[]>): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [gatewayId, users] of byGateway) for (const u of users) pushTo(out, u, gatewayId);
  return out;
}
