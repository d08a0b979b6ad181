import type { Logger, SessionRegistry } from '@chat/shared';

/**
 * Re-asserts every local connection and the gateway's liveness key now and every `intervalMs`,
 * which keeps their TTL alive and re-creates them after Redis lost its data. Returns a stop function.
 */
export function startSessionRefresher(
  registry: SessionRegistry,
  gatewayId: string,
  localConnections: () => Iterable<readonly [userId: string, connectionId: string]>,
  intervalMs: number,
  log: Logger,
): () => void {
  let running = false;
  const tick = (): void => {
    if (running) return; // a slow Redis must not pile up refreshes
    running = true;
    registry
      .refresh(gatewayId, localConnections())
      .catch((err: Error) => log.warn({ err: err.message }, 'session refresh failed'))
      .finally(() => {
        running = false;
      });
  };
  tick();
  const timer = setInterval(tick, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
