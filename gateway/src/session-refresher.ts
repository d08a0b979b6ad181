import type { Logger, SessionRegistry } from '@chat/shared';

/**
 * Keeps this gateway's routing entries alive: refreshes the TTL of every local user's entry and
 * the gateway's liveness key now and every `intervalMs`. Returns a stop function.
 */
export function startSessionRefresher(
  registry: SessionRegistry,
  gatewayId: string,
  localUserIds: () => Iterable<string>,
  intervalMs: number,
  log: Logger,
): () => void {
  let running = false;
  const tick = (): void => {
    if (running) return; // a slow Redis must not pile up refreshes
    running = true;
    registry
      .refresh(gatewayId, localUserIds())
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
