import type { Timers } from './timers.js';

/** Timers the client owns: all cancelled at once when it closes for good. */
export class Scheduler {
  private readonly handles = new Set<unknown>();

  constructor(private readonly timers: Timers) {}

  schedule(fn: () => void, ms: number): void {
    const handle: unknown = this.timers.setTimeout(() => {
      this.handles.delete(handle);
      fn();
    }, ms);
    this.handles.add(handle);
  }

  /** Resolves after `ms`; never resolves if cancelled first (its callers are abandoned). */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.schedule(resolve, ms));
  }

  cancelAll(): void {
    for (const handle of this.handles) this.timers.clearTimeout(handle);
    this.handles.clear();
  }
}
