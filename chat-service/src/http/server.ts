import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { ChatError, Errors } from '@chat/protocol';
import { parseRequestTarget, replyJsonOnClientError } from '@chat/server/http';
import type { Logger } from '@chat/server/logger';
import type { Registry } from 'prom-client';
import { handleCors, type CorsOptions } from './cors.js';
import { sendError, sendJson } from './http-utils.js';
import type { Router } from './router.js';

/** What a listener serves besides its router's routes. */
export interface ServerExtras {
  /** Serve GET /healthz. */
  healthz: boolean;
  /** Serve GET /metrics from this registry; null: no /metrics. */
  metrics: Registry | null;
  /** Answer browsers per this policy (the public listener); null: no CORS headers. */
  cors: CorsOptions | null;
}

/**
 * HTTP server around a Router: JSON errors with registry codes, plus /healthz and /metrics when
 * asked (the internal listener only). Every request runs inside one guard, so no request target,
 * header or body can throw past it: whatever fails becomes a JSON error reply.
 */
export function createHttpServer(router: Router, log: Logger, extras: ServerExtras): Server {
  const { metrics } = extras;
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const target = parseRequestTarget(req.url);
    if (!target) throw new ChatError(Errors.INVALID_SHAPE, 'request target must be a path');
    const method = req.method ?? 'GET';
    if (extras.cors && handleCors(req, res, extras.cors, (p) => router.methodsFor(p), target.pathname)) return;
    if (extras.healthz && method === 'GET' && target.pathname === '/healthz') return sendJson(res, 200, { ok: true });
    if (method === 'GET' && target.pathname === '/metrics' && metrics) {
      const text = await metrics.metrics();
      res.writeHead(200, { 'content-type': metrics.contentType });
      res.end(text);
      return;
    }
    const match = router.match(method, target.pathname);
    if (match === 'not_found') throw new ChatError(Errors.NOT_FOUND, 'no such endpoint');
    if (match === 'method_not_allowed') throw new ChatError(Errors.INVALID_SHAPE, 'method not allowed');
    await match.handler({ req, res, params: match.params, query: target.query });
  };

  const server = createServer((req, res) => {
    // Promise.resolve().then: a handler that throws synchronously still ends in the catch below.
    Promise.resolve()
      .then(() => handle(req, res))
      .catch((err: unknown) => {
        if (!(err instanceof ChatError) || err.def === Errors.INTERNAL) {
          log.error({ err: (err as Error).message }, 'request failed');
        }
        sendError(res, err);
      })
      .catch((err: unknown) => {
        log.error({ err: (err as Error).message }, 'error reply failed');
        res.destroy();
      });
  });
  replyJsonOnClientError(server);
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.requestTimeout = 30_000;
  return server;
}
