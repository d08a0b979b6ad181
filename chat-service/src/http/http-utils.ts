import type { IncomingMessage, ServerResponse } from 'node:http';
import { ChatError, Errors } from '@chat/protocol';
import { toChatError } from '../resilience/infra-errors.js';

/** Reads a JSON body of at most `maxBytes`; anything else is a ChatError with a registry code. */
export async function readJson(req: IncomingMessage, maxBytes: number): Promise<unknown> {
  const type = req.headers['content-type'] ?? '';
  if (!type.startsWith('application/json')) throw new ChatError(Errors.INVALID_SHAPE, 'content-type must be application/json');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) throw new ChatError(Errors.BODY_TOO_LARGE, `request body exceeds ${maxBytes} bytes`);
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    throw new ChatError(Errors.BAD_FRAME, 'request body is not valid JSON');
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) });
  res.end(payload);
}

/**
 * Infrastructure errors become UNAVAILABLE, other unknown errors INTERNAL (both retry: true);
 * the detail stays in the log, not the reply. A ChatError with a retry-after hint (RATE_LIMITED)
 * also sets `Retry-After` in whole seconds.
 */
export function sendError(res: ServerResponse, err: unknown): void {
  const chatError = toChatError(err);
  if (res.headersSent) {
    res.end();
    return;
  }
  if (chatError.retryAfterMs !== undefined) res.setHeader('retry-after', String(Math.max(1, Math.ceil(chatError.retryAfterMs / 1000))));
  sendJson(res, chatError.def.httpStatus, { error: chatError.toJSON() });
}
