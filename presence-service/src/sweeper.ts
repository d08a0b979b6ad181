import type { Logger } from '@chat/server/logger';
import type { PresenceStore } from './presence-store.js';

/**
 * Sweeps lapsed presence every `intervalMs` (and again at once while a batch was full). A failed
 * sweep (e.g. Redis restarting) is logged and retried at the next tick. Returns a stop function
 * that resolves once a running sweep finished.
 *
 * The first tick comes after a random part of the interval: several instances sweep the same
 * Redis (the sweep is atomic), so their ticks interleave and offline transitions leave in
 * N smaller batches per interval instead of one burst.
 */
export function startSweeper(store: PresenceStore, intervalMs: number, log: Logger, batch = 1000, phaseMs = Math.random() * intervalMs): () => Promise<void> {
  let running: Promise<void> | undefined;
  let stopped = false;
  const tick = (): void => {
    if (running || stopped) return;
    running = (async () => {
      try {
        for (let i = 0; i < 100 && !stopped; i++) {
          const { examined, offline } = await store.sweep(batch);
          if (offline > 0) log.debug({ offline }, 'swept users offline');
          if (examined < batch) break;
        }
      } catch (err) {
        log.warn({ err }, 'presence sweep failed; retrying next interval');
      } finally {
        running = undefined;
      }
    })();
  };
  let timer: NodeJS.Timeout = setTimeout(() => {
    tick();
    timer = setInterval(tick, intervalMs);
    timer.unref();
  }, phaseMs);
  timer.unref();
  return async () => {
    stopped = true;
    clearTimeout(timer);
    clearInterval(timer);
    await running;
  };
}
