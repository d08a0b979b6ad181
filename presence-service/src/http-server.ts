import { ChatError, Errors } from '@chat/protocol';
import { INTERNAL_TOKEN_HEADER } from '@chat/protocol/internal';
import { secretEquals } from '@chat/server/auth';
import { parseRequestTarget, replyJsonOnClientError } from '@chat/server/http';
import { serveHealth, type Readiness } from '@chat/server/health';
import type { Logger } from '@chat/server/logger';
import type { MetricsRegistry } from '@chat/server/metrics';
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
 * GET /healthz, /livez, /readyz and /metrics. Every request runs inside one guard: nothing a request carries can throw past it.
 * Never logs bodies.
 */
export function createInternalServer(routes: Record<string, JsonHandler>, internalToken: string, log: Logger, readiness: Readiness, metrics: MetricsRegistry | null): Server {
  const table = new Map(Object.entries(routes));
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const target = parseRequestTarget(req.url);
    if (!target) throw new ChatError(Errors.INVALID_SHAPE, 'request target must be a path');
    if (req.method === 'GET' && target.pathname === '/healthz') return reply(res, 200, { ok: true });
    if (serveHealth(req, res, target.pathname, readiness)) return;
    if (req.method === 'GET' && target.pathname === '/metrics' && metrics) {
      const text = await metrics.metrics();
      res.writeHead(200, { 'content-type': metrics.contentType });
      res.end(text);
      return;
    }
    const handler = req.method === 'POST' ? table.get(target.pathname) : undefined;
    if (!handler) throw new ChatError(Errors.NOT_FOUND);
    if (!secretEquals(req.headers[INTERNAL_TOKEN_HEADER], internalToken)) throw new ChatError(Errors.UNAUTHORIZED);
    reply(res, 200, (await handler(await readBody(req))) ?? {});
  };
  const server = createServer((req, res) => {
    Promise.resolve()
      .then(() => handle(req, res))
      .catch((err: unknown) => {
        if (err instanceof ChatError) return replyError(res, err);
        log.error({ err }, 'request failed');
        replyError(res, new ChatError(Errors.UNAVAILABLE, 'presence backend unavailable'));
      })
      .catch((err: unknown) => {
        log.error({ err }, 'error reply failed');
        res.destroy();
      });
  });
  replyJsonOnClientError(server);
  return server;
}

function replyError(res: ServerResponse, err: ChatError): void {
  if (res.headersSent) res.end();
  else reply(res, err.def.httpStatus, { error: err.toJSON() });
}
