import WebSocket from 'ws';
import type { ServerFrame } from '@chat/protocol';

/** A WebSocket client for scenarios that drive requests from the bench process: requests by ref. */
export class WsSession {
  private readonly waiting = new Map<string, (f: ServerFrame) => void>();
  private refs = 0;

  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      const frame = JSON.parse(data.toString()) as ServerFrame;
      const ref = (frame as { ref?: unknown }).ref;
      if (typeof ref !== 'string') return;
      const resolve = this.waiting.get(ref);
      if (resolve) {
        this.waiting.delete(ref);
        resolve(frame);
      }
    });
  }

  /** Connects and resolves once `hello` arrived (the connection is routable then). */
  static connect(url: string, token: string, timeoutMs = 30_000): Promise<WsSession> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { headers: { authorization: `Bearer ${token}` } });
      const timer = setTimeout(() => {
        ws.terminate();
        reject(new Error('connect timed out'));
      }, timeoutMs);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
      ws.once('error', reject);
      ws.once('message', () => {
        clearTimeout(timer);
        resolve(new WsSession(ws));
      });
    });
  }

  /** Sends a frame with a fresh ref; resolves with the reply echoing it (an `error` frame included). */
  request<T extends ServerFrame = ServerFrame>(frame: Record<string, unknown>, timeoutMs = 60_000): Promise<T> {
    const ref = `b${++this.refs}`;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(ref);
        reject(new Error(`no reply to ${String(frame.type)} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(ref, (f) => {
        clearTimeout(timer);
        resolve(f as T);
      });
      this.ws.send(JSON.stringify({ ...frame, ref }));
    });
  }

  close(): void {
    this.ws.close();
  }
}
