import { noteActive } from './conversation-activity.js';
import type { Delivery } from './gateway-event.js';
import type { GatewayMetrics } from '../gateway-metrics.js';
import type { LocalSessions } from './local-sessions.js';
import { sendFrame, sendTexts, type SendPolicy } from '../transport/socket-sender.js';

/**
 * Applies delivery-channel events to this gateway's sockets. Delivery is at-most-once here
 * (Redis pub/sub); clients close gaps with `sync` (G4). A socket whose send buffer cannot take a
 * delivery's frames becomes a slow consumer (closed with CloseCodes.SLOW_CONSUMER, G8) and gets nothing more.
 */
export class LocalDelivery {
  constructor(
    private readonly sessions: LocalSessions,
    private readonly metrics: GatewayMetrics,
    private readonly policy: SendPolicy,
  ) {}

  apply(deliveries: Delivery[]): void {
    for (const d of deliveries) this.deliver(d);
  }

  private deliver({ userIds, frames, conversationId, sequencedAtMs }: Delivery): void {
    const started = performance.now();
    let bytes = 0;
    for (const frame of frames) bytes += Buffer.byteLength(frame, 'utf8');
    const now = Date.now();
    let sockets = 0;
    for (const userId of userIds) {
      // Written socket by socket (a user has a few): each buffer is checked right before its writes,
      // and a socket's frames go out in one write.
      for (const ws of this.sessions.socketsOf(userId)) {
        if (!sendTexts(ws, frames, bytes, this.policy)) continue;
        sockets++;
        if (conversationId !== undefined) noteActive(ws, conversationId, now);
      }
    }
    if (sockets > 0) {
      this.metrics.markDelivered(sockets * frames.length);
      this.metrics.observeFanout(sockets, (performance.now() - started) / 1000, sequencedAtMs, frames.length);
    }
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
}
