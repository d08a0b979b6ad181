import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { ChatError, Errors } from '@chat/protocol';
import { parseRequestTarget, replyJsonOnClientError } from '@chat/server/http';
import { serveHealth, type Readiness } from '@chat/server/health';
import type { Logger } from '@chat/server/logger';
import type { Registry } from 'prom-client';
import { handleCors, type CorsOptions } from './cors.js';
import { sendError, sendJson } from './http-utils.js';
import type { Router } from './router.js';

/** What a listener serves besides its router's routes. */
export interface ServerExtras {
  /** Serve GET /healthz, /livez and /readyz (from this readiness); null: none of them. */
  health: Readiness | null;
  /** Serve GET /metrics from this registry; null: no /metrics. */
  metrics: Registry | null;
  /** Answer browsers per this policy (the public listener); null: no CORS headers. */
  cors: CorsOptions | null;
}

/**
 * HTTP server around a Router: JSON errors with registry codes, plus /healthz, /livez, /readyz and /metrics when
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
    if (extras.health && method === 'GET' && target.pathname === '/healthz') return sendJson(res, 200, { ok: true });
    if (extras.health && serveHealth(req, res, target.pathname, extras.health)) return;
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
    res.setHeader('x-request-id', requestIdOf(req));
    // Promise.resolve().then: a handler that throws synchronously still ends in the catch below.
    Promise.resolve()
      .then(() => handle(req, res))
      .catch((err: unknown) => {
        if (!(err instanceof ChatError) || err.def === Errors.INTERNAL) {
          log.error({ err, method: req.method, path: parseRequestTarget(req.url)?.pathname, request_id: requestIdOf(req) }, 'request failed');
        }
        sendError(res, err);
      })
      .catch((err: unknown) => {
        log.error({ err, request_id: requestIdOf(req) }, 'error reply failed');
        res.destroy();
      });
  });
  replyJsonOnClientError(server);
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.requestTimeout = 30_000;
  return server;
}

const REQUEST_IDS = new WeakMap<IncomingMessage, string>();
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/**
 * The request's correlation id: the caller's `x-request-id` when it is a short token (a proxy or
 * client set it), otherwise a fresh one. Echoed in the reply and on every log line about the request.
 */
export function requestIdOf(req: IncomingMessage): string {
  let id = REQUEST_IDS.get(req);
  if (id === undefined) {
    const given = req.headers['x-request-id'];
    id = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    REQUEST_IDS.set(req, id);
  }
  return id;
}
