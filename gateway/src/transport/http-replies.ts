import { ChatError, type ErrorDef } from '@chat/protocol';
import { STATUS_CODES } from 'node:http';
import type { HttpResponse } from './uws.js';

function statusLine(status: number): string {
  return `${status} ${STATUS_CODES[status] ?? 'Error'}`;
}

/**
 * Ends an HTTP response (e.g. a refused upgrade) with the registry's status and the JSON body
 * `{ error: { code, name, message, retry, retry_after_ms? } }`; with `retryAfterMs` also a
 * `Retry-After` header in whole seconds (rounded up). Call it inside a cork when not in the synchronous
 * part of a uWS handler.
 */
export function replyError(res: HttpResponse, def: ErrorDef, detail?: string, retryAfterMs?: number): void {
  res.writeStatus(statusLine(def.httpStatus)).writeHeader('content-type', 'application/json').writeHeader('cache-control', 'no-store');
  if (retryAfterMs !== undefined) res.writeHeader('retry-after', String(Math.max(1, Math.ceil(retryAfterMs / 1000))));
  res.end(JSON.stringify({ error: new ChatError(def, detail, retryAfterMs).toJSON() }));
}

export function replyText(res: HttpResponse, status: number, contentType: string, body: string): void {
  res.writeStatus(statusLine(status)).writeHeader('content-type', contentType).end(body);
}
