import type { GatewaySocket } from '../transport/socket-data.js';

/**
 * The sockets open on this gateway, by user and by connection id. Synchronous, in-memory. A user
 * with one socket (nearly every user) maps to the socket itself; a Set (about 150 bytes) is made
 * only for a user's second socket.
 */
export class LocalSessions {
  private readonly byUser = new Map<string, GatewaySocket | Set<GatewaySocket>>();
  private readonly byConnection = new Map<string, GatewaySocket>();

  add(ws: GatewaySocket): void {
    const { userId, connectionId } = ws.getUserData();
    const mine = this.byUser.get(userId);
    if (mine === undefined) this.byUser.set(userId, ws);
    else if (mine instanceof Set) mine.add(ws);
    else if (mine !== ws) this.byUser.set(userId, new Set([mine, ws]));
    this.byConnection.set(connectionId, ws);
  }

  remove(ws: GatewaySocket): void {
    const { userId, connectionId } = ws.getUserData();
    const mine = this.byUser.get(userId);
    if (mine === ws) this.byUser.delete(userId);
    else if (mine instanceof Set) {
      mine.delete(ws);
      if (mine.size === 1) this.byUser.set(userId, mine.values().next().value!);
    }
    if (this.byConnection.get(connectionId) === ws) this.byConnection.delete(connectionId);
  }

  /** The user's open sockets (a new array: writing to them may close some); empty when none. */
  socketsOf(userId: string): GatewaySocket[] {
    const mine = this.byUser.get(userId);
    if (mine === undefined) return [];
    return mine instanceof Set ? [...mine] : [mine];
  }

  /** How many sockets the user has open here. */
  socketCount(userId: string): number {
    const mine = this.byUser.get(userId);
    if (mine === undefined) return 0;
    return mine instanceof Set ? mine.size : 1;
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
