/**
 * Users whose connection was closed for ignoring the frame limit (4502), each until the end of
 * the frame window they flooded. Their upgrades on this gateway are refused with 429 until then,
 * so reconnecting never buys a flooder a fresh frame budget. In memory, per gateway; entries
 * expire by themselves and are pruned on insert, so the map holds at most the users penalized
 * within one window.
 */
export class FloodPenalties {
  private readonly until = new Map<string, number>();

  /** Refuses `userId`'s upgrades until `untilMs` (ms since the Unix epoch). */
  penalize(userId: string, untilMs: number, now: number): void {
    for (const [user, end] of this.until) if (end <= now) this.until.delete(user);
    this.until.set(userId, Math.max(untilMs, this.until.get(userId) ?? 0));
  }

  /** 0 when `userId` may connect, else ms until the penalty ends. */
  waitMs(userId: string, now: number): number {
    const end = this.until.get(userId);
    if (end === undefined) return 0;
    if (end <= now) {
      this.until.delete(userId);
      return 0;
    }
    return end - now;
  }
}
