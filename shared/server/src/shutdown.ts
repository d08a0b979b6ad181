import type { Logger } from './logger.js';

export interface ShutdownOptions {
  /** Longest a stop may take after the first signal; past it the process exits 1. */
  deadlineMs: number;
  /** Exits the process (tests replace it). @default process.exit */
  exit?: (code: number) => void;
  /** Signals that start the stop. @default ['SIGTERM', 'SIGINT'] */
  signals?: readonly NodeJS.Signals[];
}

/**
 * Every main's stop: on SIGTERM or SIGINT, runs `steps` in order (each awaited; a failing step is
 * logged and the next still runs), then exits 0, or 1 if a step failed. A second signal or the
 * deadline exits 1 at once, so a hung dependency never keeps a stopping process alive.
 * Returns the stop function itself (for tests and for fatal errors after start).
 */
export function onShutdown(log: Logger, steps: readonly (() => Promise<unknown> | unknown)[], opts: ShutdownOptions): (signal: string) => Promise<void> {
  const exit = opts.exit ?? ((code: number) => process.exit(code));
  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) {
      log.warn({ signal }, 'second signal: exiting now');
      return exit(1);
    }
    stopping = true;
    log.info({ signal, deadlineMs: opts.deadlineMs }, 'shutting down');
    const timer = setTimeout(() => {
      log.error({ deadlineMs: opts.deadlineMs }, 'shutdown deadline passed: exiting now');
      exit(1);
    }, opts.deadlineMs);
    timer.unref();
    let failed = false;
    for (const step of steps) {
      try {
        await step();
      } catch (err) {
        failed = true;
        log.error({ err }, 'shutdown step failed');
      }
    }
    clearTimeout(timer);
    exit(failed ? 1 : 0);
  };
  for (const signal of opts.signals ?? ['SIGTERM', 'SIGINT']) process.on(signal, () => void stop(signal));
  return stop;
}
