import { CloseCodes, type ErrorDef } from '@chat/protocol';
import type { GatewayEvent } from '@chat/protocol/internal';
import type { Logger } from '@chat/server/logger';
import { noteActive } from './conversation-activity.js';
import type { GatewayMetrics } from './gateway-metrics.js';
import type { LocalSessions } from './local-sessions.js';
import { admitBytes, closeSocket, sendFrame, writeText, type SendPolicy } from './socket-sender.js';

const CLOSE_CODES: readonly ErrorDef[] = Object.values(CloseCodes);

/**
 * Applies delivery-channel events to this gateway's sockets. Delivery is at-most-once here
 * (Redis pub/sub); clients close gaps with `sync` (G4). A socket whose send buffer cannot take a
 * frame becomes a slow consumer (closed with CloseCodes.SLOW_CONSUMER, G8) and gets nothing more.
 */
export class LocalDelivery {
  constructor(
    private readonly sessions: LocalSessions,
    private readonly metrics: GatewayMetrics,
    private readonly log: Logger,
    private readonly policy: SendPolicy,
  ) {}

  apply(event: GatewayEvent): void {
    switch (event.type) {
      case 'deliver':
        this.deliver(event.user_ids, event.frame, event.conversation_id);
        return;
      case 'disconnect':
        this.disconnect(event.connection_ids, event.code, event.reason);
        return;
      default:
        assertNever(event);
    }
  }

  private deliver(userIds: readonly string[], frame: string, conversationId: string | undefined): void {
    const bytes = Buffer.byteLength(frame, 'utf8');
    const now = Date.now();
    let delivered = 0;
    for (const userId of userIds) {
      const sockets = this.sessions.socketsOf(userId);
      if (!sockets) continue;
      // Written socket by socket (a user has a few): each buffer is checked right before its write.
      for (const ws of [...sockets]) {
        if (!admitBytes(ws, bytes, this.policy) || !writeText(ws, frame, this.policy)) continue;
        delivered++;
        if (conversationId !== undefined) noteActive(ws, conversationId, now);
      }
    }
    if (delivered > 0) this.metrics.markDelivered(delivered);
  }

  /**
   * Events may have been lost (the delivery subscription reconnected): every local socket gets a
   * `sync.hint`, with delays spread over about 1 ms per socket (1 s to 30 s) so they do not all sync at once.
   */
  hintSync(): void {
    const sockets = this.sessions.all();
    const spread = Math.min(30_000, Math.max(1000, sockets.length));
    for (const ws of sockets) sendFrame(ws, { type: 'sync.hint', reason: 'delivery_interrupted', after_ms: Math.floor(Math.random() * spread) }, this.policy);
  }

  private disconnect(connectionIds: readonly string[], code: number, reason: string): void {
    const def = CLOSE_CODES.find((c) => c.code === code);
    if (!def) this.log.warn({ code }, 'disconnect event with a code outside the registry; using session_evicted');
    for (const id of connectionIds) {
      const ws = this.sessions.connection(id);
      if (ws) closeSocket(ws, def ?? CloseCodes.SESSION_REPLACED, reason || undefined);
    }
  }
}

function assertNever(value: never): never {
  throw new Error(`unhandled event ${JSON.stringify(value)}`);
}
