import type { ReceiptFrame } from '@chat/protocol';
import type { Redis } from '@chat/server/clients';
import { GatewayEventPublisher, type SessionRegistry } from '@chat/server/routing';

/**
 * Sends a `receipt` frame to the online devices of `recipients`: one Redis publish per gateway
 * holding any of them, like real-time messages. Best effort: a device that misses it sees the
 * read position in the conversation list or the next receipt.
 */
export class ReceiptPublisher {
  private readonly publisher: GatewayEventPublisher;

  constructor(
    redis: Redis,
    redisPrefix: string,
    private readonly registry: SessionRegistry,
  ) {
    this.publisher = new GatewayEventPublisher(redis, redisPrefix);
  }

  async publish(recipients: Iterable<string>, receipt: Omit<ReceiptFrame, 'type' | 'ref'>): Promise<number> {
    const byGateway = await this.registry.gatewaysFor([...recipients]);
    if (byGateway.size === 0) return 0;
    const frame: ReceiptFrame = { type: 'receipt', ...receipt };
    const serialized = JSON.stringify(frame);
    await this.publisher.publish(Array.from(byGateway, ([gatewayId, userIds]) => ({ gatewayId, userIds, frames: [serialized] })));
    return byGateway.size;
  }
}
