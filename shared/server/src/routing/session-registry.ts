/**
 * Where each user's live connections are: user → { connection id → gateway id }.
 *
 * Contract: an entry lives while its gateway refreshes it (TTL `ttlSeconds`, refreshed every
 * refresh interval); a gateway that dies stops refreshing and its entries vanish within the TTL.
 * Each entry carries its own deadline, so a dead gateway's entries stop counting against the
 * per-user limit and stop being routed to within the TTL even while another connection keeps the
 * user's key alive (they are deleted by the next registration). Readers also ignore entries of
 * gateways whose liveness key has lapsed, so a crashed gateway is skipped as soon as that lapses.
 * Every register and unregister announces the user on RedisKeys.routesChanged, so readers may
 * keep routes between lookups (RouteCache).
 */
export interface SessionRegistry {
  /** Registers a connection unless the user already holds `maxPerUser`; returns false then. */
  register(userId: string, connectionId: string, gatewayId: string, maxPerUser: number): Promise<boolean>;
  unregister(userId: string, connectionId: string): Promise<void>;
  /**
   * Re-asserts these live connections (user id, connection id) and the gateway's liveness key,
   * refreshing their TTL; entries lost with Redis data come back at the next refresh.
   */
  refresh(gatewayId: string, connections: Iterable<readonly [userId: string, connectionId: string]>): Promise<void>;
  /** Removes a gateway's liveness key (graceful shutdown). */
  retireGateway(gatewayId: string): Promise<void>;
  /** Live gateways holding each user's connections, grouped: gateway id → user ids. */
  gatewaysFor(userIds: readonly string[]): Promise<Map<string, string[]>>;
}
