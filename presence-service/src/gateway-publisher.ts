import type { GatewayEvent } from '@chat/protocol/internal';
import type { Redis } from '@chat/server/clients';
import { RedisKeys } from '@chat/server/redis';
import type { SessionRegistry } from '@chat/server/routing';

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
  private readonly keys: RedisKeys;

  /** @param routeCacheMs how long a recipient set's gateway lookup is reused (@default 1000). */
  constructor(
    private readonly redis: Redis,
    private readonly registry: SessionRegistry,
    prefix: string,
    private readonly routeCacheMs = 1000,
  ) {
    this.keys = new RedisKeys(prefix);
  }

  async deliver(routeKey: string, userIds: readonly string[], frame: string, exclude?: string): Promise<number> {
    const now = Date.now();
    let route = this.routes.get(routeKey);
    if (!route || now - route.at > this.routeCacheMs) {
      route = { at: now, byGateway: await this.registry.gatewaysFor(userIds) };
      this.routes.set(routeKey, route);
      if (this.routes.size > 10_000) this.prune(now);
    }
    const pipeline = this.redis.pipeline();
    let published = 0;
    for (const [gatewayId, users] of route.byGateway) {
      const recipients = exclude === undefined ? users : users.filter((u) => u !== exclude);
      if (recipients.length === 0) continue;
      const event: GatewayEvent = { v: 1, type: 'deliver', user_ids: recipients, frame };
      pipeline.publish(this.keys.gatewayEvents(gatewayId), JSON.stringify(event));
      published++;
    }
    if (published > 0) await pipeline.exec();
    return published;
  }

  private prune(now: number): void {
    for (const [k, r] of this.routes) if (now - r.at > this.routeCacheMs) this.routes.delete(k);
  }
}
