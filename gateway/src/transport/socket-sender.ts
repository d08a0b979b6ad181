import { CloseCodes, type ErrorDef, type ServerFrame } from '@chat/protocol';
import type { GatewaySocket } from './socket-data.js';

/**
 * How the gateway writes to its sockets (G8). Unsolicited frames (deliveries, presence, typing)
 * that would push a socket's send buffer past `maxBackpressure` make it a slow consumer. Solicited
 * replies never do: one that does not fit under `replyLimit` waits for drain (reply-writer.ts).
 */
export interface SendPolicy {
  /** Per-socket send buffer for unsolicited frames (WS_MAX_BACKPRESSURE_BYTES). */
  readonly maxBackpressure: number;
  /** Replies are written while the buffer stays under this (half the buffer: deliveries keep headroom). */
  readonly replyLimit: number;
  /** Called once when a socket becomes a slow consumer (it leaves routing; the close follows on drain). */
  onSlow(ws: GatewaySocket): void;
}

/**
 * A slow socket is closed with 4400 once its buffer has drained to this: the close frame then
 * reaches the client right away instead of waiting behind the backlog, where uWS would give up
 * (and the client would see 1006) if the client did not read it within uWS's short end() timeout.
 */
export const SLOW_CLOSE_BUFFERED_BYTES = 16 * 1024;

/** WebSocket close reasons are limited to 123 bytes. */
export function closeReason(text: string): string {
  let r = text;
  while (Buffer.byteLength(r, 'utf8') > 123) r = r.slice(0, -1);
  return r;
}

/** Closes a socket with a registry close code unless it is already closed. */
export function closeSocket(ws: GatewaySocket, def: ErrorDef, reason: string = def.name): void {
  if (ws.getUserData().closed) return;
  ws.end(def.code, closeReason(reason));
}

/** Whether nothing may be written to the socket any more (closed, or a slow consumer awaiting its close). */
export function isShut(ws: GatewaySocket): boolean {
  const data = ws.getUserData();
  return data.closed || data.slow;
}

/**
 * Makes the socket a slow consumer: nothing more is written to it and its frames are ignored; it is
 * closed with CloseCodes.SLOW_CONSUMER as soon as its backlog has drained (`onDrain`), or by uWS's
 * idle timeout if the client never reads again.
 */
export function markSlow(ws: GatewaySocket, policy: SendPolicy): void {
  const data = ws.getUserData();
  if (data.closed || data.slow) return;
  data.slow = true;
  data.deferred = undefined;
  policy.onSlow(ws);
  if (ws.getBufferedAmount() <= SLOW_CLOSE_BUFFERED_BYTES) ws.end(CloseCodes.SLOW_CONSUMER.code, CloseCodes.SLOW_CONSUMER.name);
}

/** The uWS drain handler's part for slow consumers: true when the socket is one (handled here). */
export function drainSlow(ws: GatewaySocket): boolean {
  const data = ws.getUserData();
  if (!data.slow) return false;
  if (!data.closed && ws.getBufferedAmount() <= SLOW_CLOSE_BUFFERED_BYTES) ws.end(CloseCodes.SLOW_CONSUMER.code, CloseCodes.SLOW_CONSUMER.name);
  return true;
}

/**
 * Admits `bytes` of unsolicited data: false if the socket is shut, or if they would push it past
 * `maxBackpressure`, which makes it a slow consumer.
 */
function admitBytes(ws: GatewaySocket, bytes: number, policy: SendPolicy): boolean {
  if (isShut(ws)) return false;
  if (!hasRoom(ws, bytes, policy)) {
    markSlow(ws, policy);
    return false;
  }
  return true;
}

/** Whether `bytes` more of unsolicited data keep the socket's send buffer within `maxBackpressure`. */
function hasRoom(ws: GatewaySocket, bytes: number, policy: SendPolicy): boolean {
  return ws.getBufferedAmount() + bytes <= policy.maxBackpressure;
}

/** Writes a text frame now (the caller checked the room). False if uWS dropped it (then the socket is slow). */
export function writeText(ws: GatewaySocket, text: string, policy: SendPolicy): boolean {
  return writeTexts(ws, [text], policy);
}

/** Writes text frames now, in order and in one write (the caller checked the room). False if uWS dropped one (then the socket is slow). */
function writeTexts(ws: GatewaySocket, texts: readonly string[], policy: SendPolicy): boolean {
  let status = 0;
  ws.cork(() => {
    for (const text of texts) {
      status = ws.send(text, false);
      if (status === 2) return;
    }
  });
  // 2 = dropped by uWS for backpressure (v20.30 has no `dropped` handler); cannot happen below its hard limit.
  if (status === 2) markSlow(ws, policy);
  return status !== 2;
}

/** Sends an unsolicited text frame if the socket is open and has room. Safe to call after any await. */
export function sendText(ws: GatewaySocket, text: string, policy: SendPolicy): boolean {
  if (!admitBytes(ws, Buffer.byteLength(text, 'utf8'), policy)) return false;
  return writeText(ws, text, policy);
}

/**
 * Sends unsolicited text frames (`bytes` in all) in order: in one write when all of them fit, else
 * frame by frame until one does not (which makes the socket a slow consumer, as with sendText).
 * False if not all of them were written.
 */
export function sendTexts(ws: GatewaySocket, texts: readonly string[], bytes: number, policy: SendPolicy): boolean {
  if (isShut(ws)) return false;
  if (hasRoom(ws, bytes, policy)) return writeTexts(ws, texts, policy);
  return texts.every((text) => sendText(ws, text, policy));
}

export function sendFrame(ws: GatewaySocket, frame: ServerFrame, policy: SendPolicy): boolean {
  return sendText(ws, JSON.stringify(frame), policy);
}
