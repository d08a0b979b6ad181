/**
 * Where each user's live connections are: user → { connection id → gateway id }.
 *
 * Contract: an entry lives while its gateway refreshes it (TTL `ttlSeconds`, refreshed every
 * refresh interval); a gateway that dies stops refreshing and its entries vanish within the TTL.
 * Readers also ignore entries of gateways whose liveness key has lapsed, so a crashed gateway
 * is skipped at once even while a user's key is kept alive by another gateway.
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
