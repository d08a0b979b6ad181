import { ChatError, Errors, INTERNAL_TOKEN_HEADER, type Logger } from '@chat/shared';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

/** A JSON POST handler: resolves with the reply body or rejects (ChatError → its status and code). */
export type JsonHandler = (body: unknown) => Promise<unknown>;

const MAX_BODY = 1024 * 1024;

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new ChatError(Errors.BODY_TOO_LARGE, 'request body too large');
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    throw new ChatError(Errors.BAD_FRAME, 'body is not JSON');
  }
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/**
 * The internal HTTP server: POST routes with JSON bodies behind the internal token, plus
 * GET /healthz. Never logs bodies.
 */
export function createInternalServer(routes: Record<string, JsonHandler>, internalToken: string, log: Logger): Server {
  return createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/healthz') return reply(res, 200, { ok: true });
    const handler = req.method === 'POST' && req.url !== undefined ? routes[req.url] : undefined;
    if (!handler) return reply(res, 404, { error: new ChatError(Errors.NOT_FOUND).toJSON() });
    if (req.headers[INTERNAL_TOKEN_HEADER] !== internalToken) return reply(res, 401, { error: new ChatError(Errors.UNAUTHORIZED).toJSON() });
    readBody(req)
      .then(handler)
      .then(
        (body) => reply(res, 200, body ?? {}),
        (err: unknown) => {
          if (err instanceof ChatError) return reply(res, err.def.httpStatus, { error: err.toJSON() });
          log.error({ err: (err as Error).message, path: req.url }, 'request failed');
          reply(res, Errors.UNAVAILABLE.httpStatus, { error: new ChatError(Errors.UNAVAILABLE, 'presence backend unavailable').toJSON() });
        },
      );
  });
}
