import type { GatewaySocket } from '../transport/socket-data.js';

/** The sockets open on this gateway, by user and by connection id. Synchronous, in-memory. */
export class LocalSessions {
  private readonly byUser = new Map<string, Set<GatewaySocket>>();
  private readonly byConnection = new Map<string, GatewaySocket>();

  add(ws: GatewaySocket): void {
    const { userId, connectionId } = ws.getUserData();
    let set = this.byUser.get(userId);
    if (!set) this.byUser.set(userId, (set = new Set()));
    set.add(ws);
    this.byConnection.set(connectionId, ws);
  }

  remove(ws: GatewaySocket): void {
    const { userId, connectionId } = ws.getUserData();
    const set = this.byUser.get(userId);
    if (set) {
      set.delete(ws);
      if (set.size === 0) this.byUser.delete(userId);
    }
    if (this.byConnection.get(connectionId) === ws) this.byConnection.delete(connectionId);
  }

  socketsOf(userId: string): ReadonlySet<GatewaySocket> | undefined {
    return this.byUser.get(userId);
  }

  connection(connectionId: string): GatewaySocket | undefined {
    return this.byConnection.get(connectionId);
  }

  /** Some open socket (the oldest), or undefined when none is open. */
  anySocket(): GatewaySocket | undefined {
    for (const ws of this.byConnection.values()) if (!ws.getUserData().closed) return ws;
    return undefined;
  }

  userIds(): IterableIterator<string> {
    return this.byUser.keys();
  }

  /** (user id, connection id) of every open socket. */
  *connections(): IterableIterator<readonly [string, string]> {
    for (const [connectionId, ws] of this.byConnection) yield [ws.getUserData().userId, connectionId] as const;
  }

  all(): GatewaySocket[] {
    return [...this.byConnection.values()];
  }

  get size(): number {
    return this.byConnection.size;
  }
}
