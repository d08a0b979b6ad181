import type { WebSocketConstructor, WebSocketLike } from '@chat/sdk';

type Listener<T> = ((event: T) => void) | null;

/**
 * Wraps a WebSocket implementation so every text frame the server sends is handed to `onText` before
 * the client sees it: pass the result as ChatClient's `WebSocketImpl` to record what arrived raw
 * (duplicates included), next to what the client shows after its own dedup.
 */
export function recordingWebSocket(Impl: WebSocketConstructor, onText: (text: string) => void): WebSocketConstructor {
  return class RecordingWebSocket implements WebSocketLike {
    onopen: Listener<unknown> = null;
    onmessage: Listener<{ data: unknown }> = null;
    onclose: Listener<{ code: number; reason: string }> = null;
    onerror: Listener<unknown> = null;
    private readonly inner: WebSocketLike;

    constructor(url: string, protocols?: string | string[]) {
      this.inner = new Impl(url, protocols);
      this.inner.onopen = (ev) => this.onopen?.(ev);
      this.inner.onmessage = (ev) => {
        if (typeof ev.data === 'string') onText(ev.data);
        else if (ev.data instanceof Buffer) onText(ev.data.toString('utf8'));
        this.onmessage?.(ev);
      };
      this.inner.onclose = (ev) => this.onclose?.(ev);
      this.inner.onerror = (ev) => this.onerror?.(ev);
    }

    get readyState(): number {
      return this.inner.readyState;
    }

    send(data: string): void {
      this.inner.send(data);
    }

    close(code?: number, reason?: string): void {
      this.inner.close(code, reason);
    }
  };
}
