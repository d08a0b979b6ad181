import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readiness } from './readiness.js';

/**
 * Answers GET /livez (the process and its event loop run) and GET /readyz (Readiness) on a
 * node:http internal listener; returns false for any other request.
 */
export function serveHealth(req: IncomingMessage, res: ServerResponse, pathname: string, readiness: Readiness): boolean {
  if (req.method !== 'GET' || (pathname !== '/livez' && pathname !== '/readyz')) return false;
  if (pathname === '/livez') {
    writeJson(res, 200, { status: 'live' });
    return true;
  }
  void readiness.report().then((r) => writeJson(res, r.httpStatus, r.body));
  return true;
}

function writeJson(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}
