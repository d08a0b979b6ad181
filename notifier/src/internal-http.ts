import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serveHealth, type Readiness } from '@chat/server/health';
import type { Registry } from 'prom-client';

/** The notifier's internal listener: /healthz, /livez, /readyz and /metrics only. */
export async function startInternalHttp(host: string, port: number, metrics: Registry | null, readiness: Readiness): Promise<{ port: number; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    if (serveHealth(req, res, req.url ?? '', readiness)) return;
    if (req.method === 'GET' && req.url === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    } else if (req.method === 'GET' && req.url === '/metrics' && metrics) {
      void metrics.metrics().then((text) => res.writeHead(200, { 'content-type': metrics.contentType }).end(text));
    } else {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"code":4004,"name":"not_found"}}');
    }
  });
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
