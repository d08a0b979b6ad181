import type { ServerFrame } from '@chat/protocol';
import type { DeferredReply, GatewaySocket } from './socket-data.js';
import { isShut, markSlow, writeText, type SendPolicy } from './socket-sender.js';

/**
 * Replies a socket may leave unread beyond its buffer before it counts as a slow consumer. Replies
 * to backend requests are bounded by the in-flight limit (a request's slot is held until its
 * reply is written); only a flood of pings or invalid frames can reach this.
 */
export const MAX_DEFERRED_REPLIES = 256;

function fits(ws: GatewaySocket, bytes: number, policy: SendPolicy): boolean {
  const buffered = ws.getBufferedAmount();
  return buffered === 0 || buffered + bytes <= policy.replyLimit;
}

/**
 * Sends a solicited reply (the answer to the client's own request). A reply never makes a socket a
 * slow consumer: if it does not fit under `policy.replyLimit` (or earlier replies are waiting), it is
 * queued in order and written on drain (`flushReplies`). An empty buffer always takes one reply, so
 * a reply larger than the limit still goes out. `done` runs once the reply is written or dropped.
 */
export function sendReply(ws: GatewaySocket, frame: ServerFrame, policy: SendPolicy, done?: () => void): void {
  if (isShut(ws)) {
    done?.();
    return;
  }
  const text = JSON.stringify(frame);
  const bytes = Buffer.byteLength(text, 'utf8');
  const data = ws.getUserData();
  if (data.deferred === undefined && fits(ws, bytes, policy)) {
    writeText(ws, text, policy);
    done?.();
    return;
  }
  data.deferred ??= [];
  if (data.deferred.length >= MAX_DEFERRED_REPLIES) {
    const waiting = data.deferred;
    markSlow(ws, policy);
    for (const r of waiting) r.done?.();
    done?.();
    return;
  }
  data.deferred.push({ text, bytes, done });
}

/** Part of the uWS drain handler: writes waiting replies, in order, while they fit. */
export function flushReplies(ws: GatewaySocket, policy: SendPolicy): void {
  const data = ws.getUserData();
  while (data.deferred !== undefined && !isShut(ws)) {
    const next = data.deferred[0];
    if (next === undefined) {
      data.deferred = undefined;
      return;
    }
    if (!fits(ws, next.bytes, policy)) return;
    data.deferred.shift();
    if (data.deferred.length === 0) data.deferred = undefined;
    writeText(ws, next.text, policy);
    next.done?.();
  }
}

/** Whether replies are waiting for drain. */
export function hasDeferredReplies(ws: GatewaySocket): boolean {
  return ws.getUserData().deferred !== undefined;
}
