import {
  ChatError,
  Errors,
  INTERNAL_PATHS,
  INTERNAL_TOKEN_HEADER,
  errorByName,
  type ErrorDef,
  type HistoryPage,
  type InternalHistoryRequest,
  type InternalSendRequest,
  type InternalSendResponse,
  type InternalSyncRequest,
  type InternalSyncResponse,
} from '@chat/shared';
import { Pool } from 'undici';

/**
 * chat-service's internal API as the gateway sees it. `user_id` is always the verified token
 * subject. Every method either resolves with the reply body or rejects with a ChatError carrying
 * a registry code: chat-service's own error (same code, name and retry flag), or
 * Errors.UNAVAILABLE (retry) when chat-service cannot be reached or times out.
 */
export interface ChatServiceClient {
  send(req: InternalSendRequest): Promise<InternalSendResponse>;
  sync(req: InternalSyncRequest): Promise<InternalSyncResponse>;
  history(req: InternalHistoryRequest): Promise<HistoryPage>;
  close(): Promise<void>;
}

export interface HttpChatServiceClientOptions {
  /** Base URL, e.g. http://127.0.0.1:8080 */
  url: string;
  /** Sent as INTERNAL_TOKEN_HEADER. */
  internalToken: string;
  /** Headers and body timeout per request. @default 10000 */
  timeoutMs?: number;
  /** Keep-alive connections in the pool. @default 64 */
  connections?: number;
}

/** A ChatError for an error body `{ error: { code, name, message, retry } }` from chat-service. */
export function chatErrorFromBody(status: number, body: unknown): ChatError {
  const e = (body as { error?: Record<string, unknown> } | null)?.error;
  if (typeof e === 'object' && e !== null && typeof e.code === 'number' && typeof e.name === 'string') {
    const known: ErrorDef | undefined = errorByName(e.name);
    const message = typeof e.message === 'string' ? e.message : (known?.message ?? 'error');
    const def: ErrorDef = known ?? {
      code: e.code,
      name: e.name,
      retry: e.retry === true,
      httpStatus: status,
      message,
    };
    return new ChatError(def, message);
  }
  return new ChatError(status >= 500 ? Errors.UNAVAILABLE : Errors.INTERNAL, `chat-service replied ${status}`);
}

/** ChatServiceClient over HTTP/1.1 keep-alive (undici Pool) with JSON bodies. */
export class HttpChatServiceClient implements ChatServiceClient {
  private readonly pool: Pool;
  private readonly token: string;
  private readonly timeoutMs: number;

  constructor(opts: HttpChatServiceClientOptions) {
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.token = opts.internalToken;
    this.pool = new Pool(new URL(opts.url).origin, {
      connections: opts.connections ?? 64,
      keepAliveTimeout: 30_000,
      headersTimeout: this.timeoutMs,
      bodyTimeout: this.timeoutMs,
      connectTimeout: Math.min(this.timeoutMs, 5_000),
    });
  }

  send(req: InternalSendRequest): Promise<InternalSendResponse> {
    return this.post<InternalSendResponse>(INTERNAL_PATHS.send, req);
  }

  sync(req: InternalSyncRequest): Promise<InternalSyncResponse> {
    return this.post<InternalSyncResponse>(INTERNAL_PATHS.sync, req);
  }

  history(req: InternalHistoryRequest): Promise<HistoryPage> {
    return this.post<HistoryPage>(INTERNAL_PATHS.history, req);
  }

  async close(): Promise<void> {
    await this.pool.close();
  }

  private async post<T>(path: string, payload: unknown): Promise<T> {
    let status: number;
    let text: string;
    try {
      const res = await this.pool.request({
        method: 'POST',
        path,
        headers: { 'content-type': 'application/json', [INTERNAL_TOKEN_HEADER]: this.token },
        body: JSON.stringify(payload),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      status = res.statusCode;
      text = await res.body.text();
    } catch {
      throw new ChatError(Errors.UNAVAILABLE, 'chat-service is unreachable');
    }
    let body: unknown;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      body = undefined;
    }
    if (status >= 200 && status < 300) {
      if (typeof body !== 'object' || body === null) throw new ChatError(Errors.INTERNAL, 'chat-service sent an invalid reply');
      return body as T;
    }
    throw chatErrorFromBody(status, body);
  }
}
