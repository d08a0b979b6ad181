import { CloseCodes, type ErrorDef, type ServerFrame } from '@chat/shared';
import type { GatewaySocket } from './socket-data.js';

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

/**
 * Enforces the per-socket send buffer before data is queued: if `bytes` more would push the
 * socket past `maxBackpressure`, the socket is closed with CloseCodes.SLOW_CONSUMER (the close
 * frame still fits, so a client that is slow but alive reads it after its backlog) and false is
 * returned. uWS's own closeOnBackpressureLimit would instead drop the TCP connection (1006).
 */
export function admitBytes(ws: GatewaySocket, bytes: number, maxBackpressure: number): boolean {
  if (ws.getUserData().closed) return false;
  if (ws.getBufferedAmount() + bytes > maxBackpressure) {
    closeSocket(ws, CloseCodes.SLOW_CONSUMER);
    return false;
  }
  return true;
}

/** Sends a text frame if the socket is open and has room. Safe to call after any await. */
export function sendText(ws: GatewaySocket, text: string, maxBackpressure: number): boolean {
  if (!admitBytes(ws, Buffer.byteLength(text, 'utf8'), maxBackpressure)) return false;
  let status = 0;
  ws.cork(() => {
    status = ws.send(text, false);
  });
  // 2 = dropped by uWS for backpressure (v20.30 has no `dropped` handler).
  if (status === 2) closeSocket(ws, CloseCodes.SLOW_CONSUMER);
  return status !== 2;
}

export function sendFrame(ws: GatewaySocket, frame: ServerFrame, maxBackpressure: number): boolean {
  return sendText(ws, JSON.stringify(frame), maxBackpressure);
}
