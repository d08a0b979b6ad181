import type { Redis } from '@chat/server/clients';
import { GatewayEventPublisher as EventPublisher, type GatewayDelivery, type SessionRegistry } from '@chat/server/routing';

/**
 * Delivers a serialized server frame to users wherever they are connected: looks their gateways
 * up in the session registry and publishes one `deliver` GatewayEvent per gateway on its Redis
 * delivery channel (pipelined). At-most-once (Redis pub/sub); offline users get nothing.
 */
export interface GatewayPublisher {
  /** `routeKey` names the recipient set so its gateway lookup can be cached briefly. */
  deliver(routeKey: string, userIds: readonly string[], frame: string, exclude?: string): Promise<number>;
}

export class RedisGatewayPublisher implements GatewayPublisher {
  private readonly routes = new Map<string, { at: number; byGateway: Map<string, string[]> }>();
  private readonly publisher: EventPublisher;

  /** @param routeCacheMs how long a recipient set's gateway lookup is reused (@default 1000). */
  constructor(
    redis: Redis,
    private readonly registry: SessionRegistry,
    prefix: string,
    private readonly routeCacheMs = 1000,
  ) {
    this.publisher = new EventPublisher(redis, prefix);
  }

  async deliver(routeKey: string, userIds: readonly string[], frame: string, exclude?: string): Promise<number> {
    const now = Date.now();
    let route = this.routes.get(routeKey);
    if (!route || now - route.at > this.routeCacheMs) {
      route = { at: now, byGateway: await this.registry.gatewaysFor(userIds) };
      this.routes.set(routeKey, route);
      if (this.routes.size > 10_000) this.prune(now);
    }
    const deliveries: GatewayDelivery[] = [];
    for (const [gatewayId, users] of route.byGateway) {
      const userIds = exclude === undefined ? users : users.filter((u) => u !== exclude);
      if (userIds.length > 0) deliveries.push({ gatewayId, userIds, frames: [frame] });
    }
    return (await this.publisher.publish(deliveries)).published;
  }

  private prune(now: number): void {
    for (const [k, r] of this.routes) if (now - r.at > this.routeCacheMs) this.routes.delete(k);
  }
}
