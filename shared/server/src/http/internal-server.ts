import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ChatError, Errors } from '@chat/protocol';
import { INTERNAL_TOKEN_HEADER } from '@chat/protocol/internal';
import type { Registry } from 'prom-client';
import { secretEquals } from '../auth/secret-equal.js';
import { serveHealth } from '../health/node-health.js';
import type { Readiness } from '../health/readiness.js';
import type { Logger } from '../logger.js';
import { replyJsonOnClientError } from './node-server.js';
import { parseRequestTarget } from './request-target.js';

/**
 * The internal token check of every internal API: `x-internal-token` must equal INTERNAL_API_TOKEN,
 * compared in constant time (both sides hashed, so neither content nor length leaks). Throws
 * UNAUTHORIZED.
 */
export function checkInternalToken(headers: IncomingHttpHeaders, expected: string): void {
  if (!secretEquals(headers[INTERNAL_TOKEN_HEADER], expected)) throw new ChatError(Errors.UNAUTHORIZED);
}

/** A JSON POST handler: resolves with the reply body or rejects (ChatError → its status and code). */
export type InternalHandler = (body: unknown) => Promise<unknown>;

export interface InternalServerOptions {
  /** POST routes with JSON bodies, each behind checkInternalToken. @default {} */
  routes?: Record<string, InternalHandler>;
  /** INTERNAL_API_TOKEN; required when there are routes. */
  internalToken?: string;
  /** Serve GET /metrics from this registry; null: no /metrics. */
  metrics: Registry | null;
  /** Answers GET /readyz (GET /livez is always live). */
  readiness: Readiness;
  log: Logger;
  /** Largest request body. @default 1048576 */
  maxBodyBytes?: number;
  /** Message of the UNAVAILABLE reply when a handler fails with anything but a ChatError. @default 'backend unavailable' */
  unavailableMessage?: string;
}

/**
 * A process's internal listener (never exposed publicly): GET /healthz, /livez, /readyz and /metrics, and JSON POST
 * routes behind the internal token. Every request runs inside one guard: nothing a request carries
 * can throw past it, and failures are JSON errors with registry codes. Never logs bodies.
 */
export function createInternalServer(opts: InternalServerOptions): Server {
  const routes = new Map(Object.entries(opts.routes ?? {}));
  const maxBody = opts.maxBodyBytes ?? 1024 * 1024;
  if (routes.size > 0 && !opts.internalToken) throw new Error('createInternalServer: routes need an internalToken');
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const target = parseRequestTarget(req.url);
    if (!target) throw new ChatError(Errors.INVALID_SHAPE, 'request target must be a path');
    if (req.method === 'GET' && target.pathname === '/healthz') return reply(res, 200, { ok: true });
    if (serveHealth(req, res, target.pathname, opts.readiness)) return;
    if (req.method === 'GET' && target.pathname === '/metrics' && opts.metrics) {
      const text = await opts.metrics.metrics();
      res.writeHead(200, { 'content-type': opts.metrics.contentType });
      res.end(text);
      return;
    }
    const handler = req.method === 'POST' ? routes.get(target.pathname) : undefined;
    if (!handler) throw new ChatError(Errors.NOT_FOUND);
    checkInternalToken(req.headers, opts.internalToken ?? '');
    reply(res, 200, (await handler(await readBody(req, maxBody))) ?? {});
  };
  const server = createServer((req, res) => {
    Promise.resolve()
      .then(() => handle(req, res))
      .catch((err: unknown) => {
        if (err instanceof ChatError) return replyError(res, err);
        opts.log.error({ err }, 'request failed');
        replyError(res, new ChatError(Errors.UNAVAILABLE, opts.unavailableMessage ?? 'backend unavailable'));
      })
      .catch((err: unknown) => {
        opts.log.error({ err }, 'error reply failed');
        res.destroy();
      });
  });
  replyJsonOnClientError(server);
  return server;
}

/** Listens on host:port (0 picks a free port); resolves with the port and a close that drops open connections. */
export async function listenInternal(server: Server, host: string, port: number): Promise<{ port: number; close(): Promise<void> }> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function readBody(req: IncomingMessage, maxBytes: number): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) throw new ChatError(Errors.BODY_TOO_LARGE, 'request body too large');
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

function replyError(res: ServerResponse, err: ChatError): void {
  if (res.headersSent) res.end();
  else reply(res, err.def.httpStatus, { error: err.toJSON() });
}
