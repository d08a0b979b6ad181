import { Errors } from '@chat/protocol';
import { measureLiveHeap, type Readiness } from '@chat/server/health';
import type { Logger } from '@chat/server/logger';
import type { MetricsRegistry } from '../gateway-metrics.js';
import { atMostEvery } from './at-most-every.js';
import { guardHttp } from './http-guard.js';
import { replyError, replyText } from './http-replies.js';
import type { TemplatedApp } from './uws.js';

/** GET /debug/heap answers a newer measurement at most this often (the last one in between). */
const HEAP_MEASURE_INTERVAL_MS = 5000;

export interface InternalRouteDeps {
  /** Serves GET /metrics and GET /debug/heap when set. */
  metricsRegistry: MetricsRegistry | undefined;
  connections(): number;
  isDraining(): boolean;
  /** /readyz: the gateway's dependencies answer and it is not draining. */
  readiness: Readiness;
  log: Logger;
}

/**
 * The internal listener (GATEWAY_INTERNAL_HOST:GATEWAY_INTERNAL_PORT): GET /healthz (503 while
 * draining), GET /livez, GET /readyz (503 while a dependency fails or draining), GET /metrics,
 * GET /debug/heap (a full GC, then the live heap in bytes: for capacity measurements; at most one
 * GC per 5 s, the last measurement in between, with its `measured_at`), and a JSON
 * 404 for everything else. Never on the public port.
 */
export function registerInternalRoutes(app: TemplatedApp, deps: InternalRouteDeps): void {
  app.get(
    '/healthz',
    guardHttp(deps.log, (res) => {
      const draining = deps.isDraining();
      replyText(res, draining ? 503 : 200, 'application/json', JSON.stringify({ status: draining ? 'draining' : 'ok', connections: deps.connections() }));
    }),
  );

  app.get(
    '/livez',
    guardHttp(deps.log, (res) => replyText(res, 200, 'application/json', '{"status":"live"}')),
  );
  app.get(
    '/readyz',
    guardHttp(deps.log, (res) => {
      let aborted = false;
      res.onAborted(() => {
        aborted = true;
      });
      // report() never rejects.
      void deps.readiness.report().then((r) => {
        if (!aborted) res.cork(() => replyText(res, r.httpStatus, 'application/json', JSON.stringify(r.body)));
      });
    }),
  );

  const registry = deps.metricsRegistry;
  if (registry) {
    app.get(
      '/metrics',
      guardHttp(deps.log, (res) => {
        let aborted = false;
        res.onAborted(() => {
          aborted = true;
        });
        registry.metrics().then(
          (text) => {
            if (!aborted) res.cork(() => replyText(res, 200, registry.contentType, text));
          },
          (err: Error) => {
            deps.log.error({ err }, 'metrics collection failed');
            if (!aborted) res.cork(() => replyError(res, Errors.INTERNAL));
          },
        );
      }),
    );
    // Each measurement forces a full GC: at most one per HEAP_MEASURE_INTERVAL_MS, whoever asks.
    const liveHeap = atMostEvery(HEAP_MEASURE_INTERVAL_MS, measureLiveHeap);
    app.get(
      '/debug/heap',
      guardHttp(deps.log, (res) => {
        const { value, measuredAt } = liveHeap();
        replyText(res, 200, 'application/json', JSON.stringify({ ...value, measured_at: measuredAt, connections: deps.connections() }));
      }),
    );
  }
  registerNotFound(app, deps.log);
}

/** A JSON 404 for every request no other route took (on the public port: everything but /ws upgrades). */
export function registerNotFound(app: TemplatedApp, log: Logger): void {
  app.any(
    '/*',
    guardHttp(log, (res) => replyError(res, Errors.NOT_FOUND)),
  );
}
