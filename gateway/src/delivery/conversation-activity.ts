import type { ServerFrame } from '@chat/protocol';
import type { GatewaySocket } from '../transport/socket-data.js';

/** Conversations remembered per socket for the digest; the least recently used is forgotten beyond this. */
export const MAX_ACTIVE_PER_SOCKET = 32;

/**
 * Notes that the socket used a conversation it belongs to (a message was delivered to it, or the
 * server acked, synced or paged it for it): the digest then tells it that conversation's latest seq.
 * Only server-confirmed uses count, so a digest never names a conversation the user cannot read.
 */
export function noteActive(ws: GatewaySocket, conversationId: string, now: number): void {
  const data = ws.getUserData();
  const active = (data.active ??= new Map());
  active.delete(conversationId); // re-insert: Map order is recency order
  active.set(conversationId, now);
  if (active.size > MAX_ACTIVE_PER_SOCKET) {
    const oldest = active.keys().next();
    if (!oldest.done) active.delete(oldest.value);
  }
}

/** Notes the conversations a reply confirms the socket may read. */
export function noteReply(ws: GatewaySocket, reply: ServerFrame, now: number): void {
  switch (reply.type) {
    case 'ack':
    case 'history.result':
      noteActive(ws, reply.conversation_id, now);
      return;
    case 'sync.result':
      for (const c of reply.conversations) if (c.status === 'ok') noteActive(ws, c.conversation_id, now);
      return;
    default:
      return;
  }
}

/** The socket's conversations used since `since` (older ones are forgotten). */
export function activeSince(ws: GatewaySocket, since: number): string[] {
  const active = ws.getUserData().active;
  if (!active) return [];
  const out: string[] = [];
  for (const [id, at] of active) {
    if (at < since) active.delete(id);
    else out.push(id);
  }
  if (active.size === 0) ws.getUserData().active = undefined;
  return out;
}
