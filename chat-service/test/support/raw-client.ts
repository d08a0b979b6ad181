import WebSocket from 'ws';
import type { ServerFrame } from '@chat/protocol';
import { waitFor } from './system.js';

/** A bare WebSocket client for tests: records every frame and the close code. */
export class RawClient {
  readonly frames: ServerFrame[] = [];
  closeCode: number | null = null;
  lastError: string | null = null;
  private refCounter = 0;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      if (!isBinary) this.frames.push(JSON.parse(data.toString()) as ServerFrame);
    });
    ws.on('close', (code) => (this.closeCode = code));
    ws.on('error', (err) => (this.lastError = err.message));
  }

  static connect(url: string, token: string): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { headers: { authorization: `Bearer ${token}` } });
      const client = new RawClient(ws);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
      ws.once('error', reject);
      ws.once('open', () => waitFor(() => client.frames.some((f) => f.type === 'hello'), 5000, 'hello').then(() => resolve(client), reject));
    });
  }

  sendRaw(data: string | Buffer): void {
    this.ws.send(data);
  }

  /** Sends a frame with a fresh ref and resolves with the reply that echoes it. */
  async request<T extends ServerFrame = ServerFrame>(frame: Record<string, unknown>, timeoutMs = 15_000): Promise<T> {
    const ref = `r${++this.refCounter}`;
    this.ws.send(JSON.stringify({ ...frame, ref }));
    let reply: ServerFrame | undefined;
    await waitFor(() => (reply = this.frames.find((f) => 'ref' in f && f.ref === ref)) !== undefined, timeoutMs, `reply to ${String(frame.type)}`);
    return reply as T;
  }

  messages(conversationId?: string): Extract<ServerFrame, { type: 'message' }>[] {
    return this.frames.filter(
      (f): f is Extract<ServerFrame, { type: 'message' }> => f.type === 'message' && (!conversationId || f.conversation_id === conversationId),
    );
  }

  close(): void {
    this.ws.close();
  }
}
