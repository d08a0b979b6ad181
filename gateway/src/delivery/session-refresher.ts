import type { Logger } from '@chat/server/logger';
import type { SessionRegistry } from '@chat/server/routing';

export interface SessionRefresherOptions {
  intervalMs: number;
  /**
   * The registry's entry TTL. When a refresh succeeds more than this after the previous successful
   * one began (the process was frozen, or Redis unreachable), the entries had lapsed meanwhile and
   * deliveries to this gateway were skipped: `onLapse` runs.
   */
  ttlMs: number;
  onLapse: () => void;
}

/**
 * Re-asserts every local connection and the gateway's liveness key now and every `intervalMs`,
 * which keeps their TTL alive and re-creates them after Redis lost its data. Returns a stop function.
 */
export function startSessionRefresher(
  registry: SessionRegistry,
  gatewayId: string,
  localConnections: () => Iterable<readonly [userId: string, connectionId: string]>,
  options: SessionRefresherOptions,
  log: Logger,
): () => void {
  let running = false;
  let lastSuccessStart: number | undefined;
  const tick = (): void => {
    if (running) return; // a slow Redis must not pile up refreshes
    running = true;
    const startedAt = Date.now();
    registry
      .refresh(gatewayId, localConnections())
      .then(() => {
        const sinceMs = lastSuccessStart === undefined ? 0 : startedAt - lastSuccessStart;
        lastSuccessStart = startedAt;
        if (sinceMs > options.ttlMs) {
          log.warn({ sinceMs }, 'routing entries had lapsed; clients are told to sync');
          options.onLapse();
        }
      })
      .catch((err: Error) => log.warn({ err }, 'session refresh failed'))
      .finally(() => {
        running = false;
      });
  };
  tick();
  const timer = setInterval(tick, options.intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
