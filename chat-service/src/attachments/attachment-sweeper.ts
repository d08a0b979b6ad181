import type { Logger } from '@chat/server/logger';
import { HOUR_MS, hourOf, type AttachmentStore, type PendingEntry } from './attachment-store.js';
import type { ObjectStorage } from './object-storage.js';

export interface SweeperOptions {
  /** A pending attachment older than this is abandoned. */
  abandonAfterMs: number;
  /** How far back the first sweep of a process looks (later sweeps start where the last found work). @default 7 days */
  lookbackMs?: number;
  now?: () => number;
}

/**
 * Deletes abandoned uploads: attachments still pending `abandonAfterMs` after their upload was
 * requested lose their record (compare-and-set, so a concurrent completion wins or loses as a
 * whole), their object (if anything was uploaded) and their index entry, in that order, so a
 * crash half-way leaves the entry for the next sweep. Several processes may sweep at once: every
 * step is idempotent.
 */
export class AttachmentSweeper {
  /** Hours before this one were found empty and past the cut-off: nothing can be added to them. */
  private firstOpenHour: number;
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<number> | undefined;

  constructor(
    private readonly store: AttachmentStore,
    private readonly objects: ObjectStorage,
    private readonly log: Logger,
    private readonly opts: SweeperOptions,
  ) {
    this.now = opts.now ?? Date.now;
    this.firstOpenHour = hourOf(this.now() - opts.abandonAfterMs - (opts.lookbackMs ?? 7 * 24 * HOUR_MS));
  }

  /** Sweeps every `intervalMs` until `stop()`. */
  start(intervalMs: number): void {
    const tick = () => {
      this.timer = setTimeout(() => {
        void this.sweep()
          .catch((err: unknown) => this.log.warn({ err }, 'attachment sweep failed; retrying next interval'))
          .finally(() => {
            if (this.timer) tick();
          });
      }, intervalMs);
      this.timer.unref();
    };
    tick();
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => undefined);
  }

  /** One pass; resolves with the number of abandoned attachments deleted. Concurrent calls share a pass. */
  sweep(): Promise<number> {
    this.running ??= this.pass().finally(() => (this.running = undefined));
    return this.running;
  }

  private async pass(): Promise<number> {
    const cutoff = this.now() - this.opts.abandonAfterMs;
    const lastHour = hourOf(cutoff);
    let deleted = 0;
    let allClearUpTo = true;
    for (let hour = this.firstOpenHour; hour <= lastHour; hour++) {
      const entries = await this.store.pendingInHour(hour);
      const due = entries.filter((e) => e.created_at <= cutoff);
      for (const entry of due) if (await this.abandon(entry)) deleted++;
      // An hour wholly before the cut-off, now empty, stays empty: later sweeps skip it.
      if (allClearUpTo && due.length === entries.length && hour < lastHour) this.firstOpenHour = hour + 1;
      else allClearUpTo = false;
    }
    if (deleted > 0) this.log.info({ deleted }, 'abandoned attachment uploads deleted');
    return deleted;
  }

  /** true when the attachment was abandoned and is now gone; false when it had been completed meanwhile. */
  private async abandon(entry: PendingEntry): Promise<boolean> {
    // A completed attachment keeps its object; only its stale index entry goes.
    const abandoned = await this.store.deleteIfPending(entry.attachment_id);
    if (abandoned) await this.objects.delete(entry.object_key);
    await this.store.unindex(entry.attachment_id, entry.created_at);
    return abandoned;
  }
}
