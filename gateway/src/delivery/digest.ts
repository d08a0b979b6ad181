import type { ConversationLatest } from '@chat/protocol';
import { MAX_LATEST_CONVERSATIONS } from '@chat/protocol/internal';
import type { Logger } from '@chat/server/logger';
import type { ChatServiceClient } from '../backend/chat-service-client.js';
import { activeSince } from './conversation-activity.js';
import type { LocalSessions } from './local-sessions.js';
import type { GatewaySocket } from '../transport/socket-data.js';
import { inSlice, sliceCount, startSlicedInterval } from '../transport/sliced-interval.js';
import { sendFrame, type SendPolicy } from '../transport/socket-sender.js';

export interface DigestOptions {
  /** How often digests go out (DELIVERY_DIGEST_INTERVAL_MS); 0 disables. */
  intervalMs: number;
  /** A conversation is listed while the socket used it within this. @default 20 × intervalMs */
  activeWindowMs?: number;
  /** Conversations looked up per interval at most (the most recently used first; split over its rounds). @default 10_000 */
  maxConversations?: number;
}

/**
 * The digest (G2/G4 for quiet conversations): real-time delivery is at-most-once (Redis pub/sub),
 * so a lost event is otherwise noticed only when a later message shows a gap. Each socket gets one
 * `digest` frame per interval with the latest seq and epoch of the conversations it used recently.
 * A round each second serves a slice of the sockets and looks up their conversations in
 * chat-service (one request per 1000; rounds never overlap): a round of every socket at once made
 * chat-service stall every interval, at the same moment for gateways started together. Returns a
 * stop function.
 */
export function startDigest(
  sessions: LocalSessions,
  chat: Pick<ChatServiceClient, 'latest'>,
  policy: SendPolicy,
  options: DigestOptions,
  log: Logger,
): () => void {
  if (options.intervalMs <= 0) return () => undefined;
  const windowMs = options.activeWindowMs ?? 20 * options.intervalMs;
  const maxConversations = Math.ceil((options.maxConversations ?? 10_000) / sliceCount(options.intervalMs));
  let running = false;

  const round = async (sockets: Iterable<GatewaySocket>): Promise<void> => {
    const since = Date.now() - windowMs;
    const perSocket: [GatewaySocket, string[]][] = [];
    const lastUse = new Map<string, number>();
    for (const ws of sockets) {
      const ids = activeSince(ws, since);
      if (ids.length === 0) continue;
      perSocket.push([ws, ids]);
      const active = ws.getUserData().active;
      for (const id of ids) lastUse.set(id, Math.max(lastUse.get(id) ?? 0, active?.get(id) ?? 0));
    }
    if (lastUse.size === 0) return;
    const ids = [...lastUse.keys()];
    if (ids.length > maxConversations) ids.sort((a, b) => lastUse.get(b)! - lastUse.get(a)!).splice(maxConversations);
    const latest = new Map<string, ConversationLatest>();
    for (let i = 0; i < ids.length; i += MAX_LATEST_CONVERSATIONS) {
      const reply = await chat.latest({ conversation_ids: ids.slice(i, i + MAX_LATEST_CONVERSATIONS) });
      for (const c of reply.conversations ?? []) latest.set(c.conversation_id, c);
    }
    for (const [ws, mine] of perSocket) {
      const conversations = mine.map((id) => latest.get(id)).filter((c): c is ConversationLatest => c !== undefined);
      if (conversations.length > 0) sendFrame(ws, { type: 'digest', conversations }, policy);
    }
  };

  return startSlicedInterval(options.intervalMs, (slice, slices) => {
    if (running) return false;
    running = true;
    round(inSlice(sessions.all(), (ws) => ws.getUserData().connectionId, slice, slices))
      .catch((err: Error) => log.warn({ err }, 'digest round failed'))
      .finally(() => {
        running = false;
      });
    return true;
  });
}
