import type { Logger } from '@chat/server/logger';
import type { SessionRegistry } from '@chat/server/routing';
import { inSlice, sliceCount, startSlicedInterval } from '../transport/sliced-interval.js';

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
 * Re-asserts the gateway's liveness key and every local connection now, then a slice of the
 * connections each second so that each one's turn comes every `intervalMs` (a gateway's refresh is a
 * trickle, not one pipeline of every socket at once that stalls its event loop and Redis). This keeps
 * their TTL alive and re-creates them after Redis lost its data. Returns a stop function.
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
  // A slice refreshed just before a pause is due again one interval later: its entries lapse once
  // the pause outlasts the TTL less that interval (plus one step: the pause began a step later).
  const lapseAfterMs = options.ttlMs - options.intervalMs + options.intervalMs / sliceCount(options.intervalMs);
  const refresh = (connections: Iterable<readonly [string, string]>): boolean => {
    if (running) return false; // a slow Redis must not pile up refreshes
    running = true;
    const startedAt = Date.now();
    registry
      .refresh(gatewayId, connections)
      .then(() => {
        const sinceMs = lastSuccessStart === undefined ? 0 : startedAt - lastSuccessStart;
        lastSuccessStart = startedAt;
        if (sinceMs > lapseAfterMs) {
          log.warn({ sinceMs }, 'routing entries had lapsed; clients are told to sync');
          options.onLapse();
        }
      })
      .catch((err: Error) => log.warn({ err }, 'session refresh failed'))
      .finally(() => {
        running = false;
      });
    return true;
  };
  refresh(localConnections());
  return startSlicedInterval(options.intervalMs, (slice, slices) => refresh(inSlice(localConnections(), ([, connectionId]) => connectionId, slice, slices)));
}
