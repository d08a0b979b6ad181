/**
 * The subset of the browser WebSocket API the SDK uses. The browser's WebSocket and the `ws` package
 * both satisfy it. Handler parameter types are declared bivariantly so either implementation's own
 * event types are accepted.
 */
type Handler<T> = { bivarianceHack(event: T): void }['bivarianceHack'];

export interface WebSocketMessageEventLike {
  data: unknown;
}
export interface WebSocketCloseEventLike {
  code: number;
  reason: string;
}

export interface WebSocketLike {
  readonly readyState: number;
  onopen: Handler<unknown> | null;
  onmessage: Handler<WebSocketMessageEventLike> | null;
  onclose: Handler<WebSocketCloseEventLike> | null;
  onerror: Handler<unknown> | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;

/** WebSocket.OPEN */
export const WS_OPEN = 1;

/** The global WebSocket (browsers, Node >= 22, Deno, Bun), if any. */
export function globalWebSocket(): WebSocketConstructor | undefined {
  const ws = (globalThis as { WebSocket?: unknown }).WebSocket;
  return typeof ws === 'function' ? (ws as WebSocketConstructor) : undefined;
}

const decoder = typeof TextDecoder === 'function' ? new TextDecoder() : undefined;

/** Text of a message event's data (string in browsers and `ws`; bytes tolerated). */
export function messageText(data: unknown): string | undefined {
  if (typeof data === 'string') return data;
  if (!decoder) return undefined;
  if (data instanceof ArrayBuffer) return decoder.decode(new Uint8Array(data));
  if (ArrayBuffer.isView(data)) return decoder.decode(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  return undefined;
}
