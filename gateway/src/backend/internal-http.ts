import { ChatError, Errors, errorByName, type ErrorDef } from '@chat/protocol';
import { INTERNAL_TOKEN_HEADER, type InternalBatchResult } from '@chat/protocol/internal';
import { Pool } from 'undici';

export interface InternalHttpOptions {
  /** Base URL, e.g. http://127.0.0.1:8080 */
  url: string;
  /** Sent as INTERNAL_TOKEN_HEADER. */
  internalToken: string;
  /** Service name used in error messages. */
  service: string;
  /** Headers and body timeout per request. */
  timeoutMs: number;
  /** Keep-alive connections in the pool. */
  connections: number;
}

/** A ChatError for an error body `{ error: { code, name, message, retry, retry_after_ms? } }` from an internal service. */
export function chatErrorFromBody(status: number, body: unknown, service = 'the service'): ChatError {
  const e = (body as { error?: Record<string, unknown> } | null)?.error;
  if (typeof e === 'object' && e !== null && typeof e.code === 'number' && typeof e.name === 'string') {
    const known: ErrorDef | undefined = errorByName(e.name);
    const message = typeof e.message === 'string' ? e.message : (known?.message ?? 'error');
    const def: ErrorDef = known ?? { code: e.code, name: e.name, retry: e.retry === true, httpStatus: status, message };
    const retryAfterMs =
      typeof e.retry_after_ms === 'number' && Number.isFinite(e.retry_after_ms) && e.retry_after_ms > 0 ? Math.ceil(e.retry_after_ms) : undefined;
    return new ChatError(def, message, retryAfterMs);
  }
  return new ChatError(status >= 500 ? Errors.UNAVAILABLE : Errors.INTERNAL, `${service} replied ${status}`);
}

/** One item of a batch reply: its result, its own error, or INTERNAL when the reply has no such item. */
export function batchItemResult<T>(r: InternalBatchResult<T> | undefined, service: string): T | ChatError {
  if (r && 'ok' in r) return r.ok;
  if (r) return chatErrorFromBody(r.error?.retry ? 503 : 400, r, service);
  return new ChatError(Errors.INTERNAL, `${service} sent an incomplete batch reply`);
}

/**
 * The service could not be reached: refused, reset or closed the connection, or did not accept
 * one in time (Errors.UNAVAILABLE). Another instance may answer. A request that was sent and not
 * answered in time is a plain UNAVAILABLE ChatError instead: the service may be busy, and sending
 * the same work to another instance would add load where there is already too much.
 */
export class ServiceUnreachableError extends ChatError {}

/** undici / socket error codes that mean no working connection to the service. */
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EPIPE',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
]);

/** Whether a failed request never reached a live service (see ServiceUnreachableError). */
export function isUnreachable(err: unknown): boolean {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 4; e = e.cause as typeof e, depth++) {
    if (typeof e.code === 'string' && UNREACHABLE_CODES.has(e.code)) return true;
  }
  return false;
}

/**
 * JSON POSTs to an internal service over HTTP/1.1 keep-alive (undici Pool). Resolves with the
 * parsed 2xx body (an object) or rejects with a ChatError: the service's own error, or
 * Errors.UNAVAILABLE (retry) when it cannot be reached or times out.
 */
export class InternalHttp {
  private readonly pool: Pool;

  constructor(private readonly opts: InternalHttpOptions) {
    this.pool = new Pool(new URL(opts.url).origin, {
      connections: opts.connections,
      keepAliveTimeout: 30_000,
      headersTimeout: opts.timeoutMs,
      bodyTimeout: opts.timeoutMs,
      connectTimeout: Math.min(opts.timeoutMs, 5_000),
    });
  }

  /** `timeoutMs` overrides the client's timeout for this request. */
  async post<T extends object>(path: string, payload: unknown, timeoutMs = this.opts.timeoutMs): Promise<T> {
    let status: number;
    let text: string;
    // The whole request's deadline, cleared when it settles: AbortSignal.timeout's timer outlived
    // every request and, firing, built an unused DOMException (about 1% of a gateway's CPU).
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(), timeoutMs);
    try {
      const res = await this.pool.request({
        method: 'POST',
        path,
        headers: { 'content-type': 'application/json', [INTERNAL_TOKEN_HEADER]: this.opts.internalToken },
        body: JSON.stringify(payload),
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        signal: deadline.signal,
      });
      status = res.statusCode;
      text = await res.body.text();
    } catch (err) {
      if (isUnreachable(err)) throw new ServiceUnreachableError(Errors.UNAVAILABLE, `${this.opts.service} is unreachable`);
      throw new ChatError(Errors.UNAVAILABLE, `${this.opts.service} did not answer in time`);
    } finally {
      clearTimeout(timer);
    }
    let body: unknown;
    try {
      body = text === '' ? {} : JSON.parse(text);
    } catch {
      body = undefined;
    }
    if (status < 200 || status >= 300) throw chatErrorFromBody(status, body, this.opts.service);
    if (typeof body !== 'object' || body === null) throw new ChatError(Errors.INTERNAL, `${this.opts.service} sent an invalid reply`);
    return body as T;
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
