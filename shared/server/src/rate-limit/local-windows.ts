import type { RateLimit } from '../config/index.js';

/** One key's fixed window in this process. */
export interface WindowSlot {
  windowStart: number;
  /** Points taken in this process in the current window. */
  used: number;
  /** Points taken and not yet reported to a shared store (kept by the user of the slot). */
  pending: number;
  /** Refused until then (a shared store said the key is over the limit). */
  blockedUntil: number;
}

/**
 * Fixed-window counters per key in memory, decided synchronously with no allocation once a key
 * has its slot. Keys idle for a whole window are dropped by `sweep`, so memory follows the keys
 * active in the last window.
 */
export class LocalWindows {
  readonly slots = new Map<string, WindowSlot>();
  private readonly windowMs: number;
  private lastSweep = Date.now();

  constructor(private readonly limit: RateLimit) {
    this.windowMs = limit.durationSeconds * 1000;
  }

  /** 0 and `points` taken, or ms until a retry can succeed and nothing taken. */
  take(key: string, points: number, now: number): number {
    let slot = this.slots.get(key);
    if (!slot) {
      slot = { windowStart: now, used: 0, pending: 0, blockedUntil: 0 };
      this.slots.set(key, slot);
    }
    if (slot.blockedUntil > now) return slot.blockedUntil - now;
    if (now - slot.windowStart >= this.windowMs) {
      slot.windowStart = now;
      slot.used = 0;
    }
    if (slot.used + points > this.limit.points) return Math.max(1, slot.windowStart + this.windowMs - now);
    slot.used += points;
    return 0;
  }

  /** Drops keys idle for a whole window; does work at most once per window. */
  sweep(now: number): void {
    if (now - this.lastSweep < this.windowMs) return;
    this.lastSweep = now;
    for (const [key, slot] of this.slots) {
      if (slot.pending === 0 && slot.blockedUntil <= now && now - slot.windowStart >= this.windowMs) this.slots.delete(key);
    }
  }
}
