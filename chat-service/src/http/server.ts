import { createServer, type Server } from 'node:http';
import { ChatError, Errors, type Logger } from '@chat/shared';
import type { Registry } from 'prom-client';
import { sendError, sendJson } from './http-utils.js';
import type { Router } from './router.js';

/** HTTP server around a Router: JSON errors with registry codes, /healthz, /metrics. */
export function createHttpServer(router: Router, log: Logger, metrics: Registry | null): Server {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method === 'GET' && url.pathname === '/healthz') return sendJson(res, 200, { ok: true });
    if (req.method === 'GET' && url.pathname === '/metrics' && metrics) {
      void metrics.metrics().then((text) => {
        res.writeHead(200, { 'content-type': metrics.contentType });
        res.end(text);
      });
      return;
    }
    const match = router.match(req.method ?? 'GET', url.pathname);
    if (match === 'not_found') return sendError(res, new ChatError(Errors.NOT_FOUND, 'no such endpoint'));
    if (match === 'method_not_allowed') return sendError(res, new ChatError(Errors.INVALID_SHAPE, 'method not allowed'));
    // Promise.resolve().then: a handler that throws synchronously still ends in the catch below.
    Promise.resolve()
      .then(() => match.handler({ req, res, params: match.params, query: url.searchParams }))
      .catch((err: unknown) => {
      if (!(err instanceof ChatError) || err.def === Errors.INTERNAL) {
        log.error({ err: (err as Error).message, path: url.pathname }, 'request failed');
      }
      sendError(res, err);
    });
  });
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.requestTimeout = 30_000;
  return server;
}
