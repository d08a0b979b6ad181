import { CloseCodes } from '@chat/protocol';
import { ExpiryQueue } from './expiry-queue.js';
import type { GatewaySocket } from './socket-data.js';
import { closeSocket } from './socket-sender.js';

/**
 * Closes each socket with 4500 `token_expired` at its token's `exp` (docs/PROTOCOL.md), unless an
 * in-band `auth` moved `exp` later first. One ExpiryQueue and one timer for all sockets: a timer
 * per socket cost about 220 bytes of heap per connection.
 */
export class TokenExpiry {
  private readonly queue = new ExpiryQueue<GatewaySocket>(
    (ws) => ws.getUserData(),
    (ws) => closeSocket(ws, CloseCodes.TOKEN_EXPIRED),
  );

  /** Starts watching an open socket's `expiresAt`. */
  watch(ws: GatewaySocket): void {
    this.queue.add(ws);
  }

  /** A refreshed token: the socket now lives until `expiresAt` if that is later than what it had. */
  extend(ws: GatewaySocket, expiresAt: number): void {
    const data = ws.getUserData();
    if (data.closed || !(expiresAt > data.expiresAt)) return;
    data.expiresAt = expiresAt;
    this.queue.update(ws);
  }

  /** The socket closed: it leaves the queue (nothing keeps it alive). */
  forget(ws: GatewaySocket): void {
    this.queue.remove(ws);
  }

  stop(): void {
    this.queue.stop();
  }
}
