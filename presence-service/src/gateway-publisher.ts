import type { Redis } from '@chat/server/clients';
import { GatewayEventPublisher as EventPublisher, type GatewayDelivery, type SessionRegistry } from '@chat/server/routing';

/**
 * Delivers a serialized server frame to users wherever they are connected: looks their gateways
 * up in the session registry and publishes one `deliver` GatewayEvent per gateway on its Redis
 * delivery channel (pipelined). At-most-once (Redis pub/sub); offline users get nothing.
 */
export interface GatewayPublisher {
  deliver(userIds: readonly string[], frame: string, exclude?: string): Promise<number>;
}

export class RedisGatewayPublisher implements GatewayPublisher {
  private readonly publisher: EventPublisher;

  /** `registry` is expected to keep routes between lookups (a RouteCache), as typing events repeat. */
  constructor(
    redis: Redis,
    private readonly registry: SessionRegistry,
    prefix: string,
  ) {
    this.publisher = new EventPublisher(redis, prefix);
  }

  async deliver(userIds: readonly string[], frame: string, exclude?: string): Promise<number> {
    const byGateway = await this.registry.gatewaysFor(userIds);
    const deliveries: GatewayDelivery[] = [];
    for (const [gatewayId, users] of byGateway) {
      const userIds = exclude === undefined ? users : users.filter((u) => u !== exclude);
      if (userIds.length > 0) deliveries.push({ gatewayId, userIds, frames: [frame] });
    }
    return (await this.publisher.publish(deliveries)).published;
  }
}
