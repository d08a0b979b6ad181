import type { ReceiptFrame } from '@chat/protocol';
import type { GatewayEvent } from '@chat/protocol/internal';
import type { Redis } from '@chat/server/clients';
import { RedisKeys } from '@chat/server/redis';
import type { SessionRegistry } from '@chat/server/routing';

/**
 * Sends a `receipt` frame to the online devices of `recipients`: one Redis publish per gateway
 * holding any of them, like real-time messages. Best effort: a device that misses it sees the
 * read position in the conversation list or the next receipt.
 */
export class ReceiptPublisher {
  private readonly keys: RedisKeys;

  constructor(
    private readonly redis: Redis,
    redisPrefix: string,
    private readonly registry: SessionRegistry,
  ) {
    this.keys = new RedisKeys(redisPrefix);
  }

  async publish(recipients: Iterable<string>, receipt: Omit<ReceiptFrame, 'type' | 'ref'>): Promise<number> {
    const byGateway = await this.registry.gatewaysFor([...recipients]);
    if (byGateway.size === 0) return 0;
    const frame: ReceiptFrame = { type: 'receipt', ...receipt };
    const serialized = JSON.stringify(frame);
    const pipeline = this.redis.pipeline();
    for (const [gatewayId, userIds] of byGateway) {
      const event: GatewayEvent = { v: 1, type: 'deliver', user_ids: userIds, frame: serialized };
      pipeline.publish(this.keys.gatewayEvents(gatewayId), JSON.stringify(event));
    }
    await pipeline.exec();
    return byGateway.size;
  }
}

