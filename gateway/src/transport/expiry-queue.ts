/** What an ExpiryQueue reads and writes for an entry: its deadline and the queue's bookkeeping slot. */
export interface Expiring {
  /** Deadline, ms since the Unix epoch. After changing it while queued, call `ExpiryQueue.update`. */
  expiresAt: number;
  /** Position in the queue; -1 when not queued. Owned by the queue. */
  expiryIndex: number;
}

const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Entries with deadlines in one binary min-heap, watched by a single timer armed for the earliest
 * deadline: `onExpired` runs for an entry at its deadline (as a per-entry setTimeout would, within
 * the timer's millisecond precision), with one timer object for all entries instead of one each.
 * The heap position lives on the entry (`slotOf(entry)`), so removal and a moved deadline cost
 * O(log n) and nothing is retained after `remove`.
 */
export class ExpiryQueue<T> {
  private readonly heap: T[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** When the armed timer fires (Infinity: none armed). */
  private armedAt = Number.POSITIVE_INFINITY;

  constructor(
    private readonly slotOf: (entry: T) => Expiring,
    private readonly onExpired: (entry: T) => void,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.heap.length;
  }

  /** Queues `entry` (not queued yet) for its `expiresAt`. */
  add(entry: T): void {
    const slot = this.slotOf(entry);
    if (slot.expiryIndex >= 0) throw new Error('ExpiryQueue.add: entry is already queued');
    this.heap.push(entry);
    this.siftUp(this.heap.length - 1, slot);
    this.arm();
  }

  /** The queued entry's `expiresAt` changed: it moves to its new place (no-op when not queued). */
  update(entry: T): void {
    const slot = this.slotOf(entry);
    if (slot.expiryIndex < 0) return;
    this.siftDown(slot.expiryIndex, slot);
    this.siftUp(slot.expiryIndex, slot);
    // A later deadline may leave the timer armed early: it then finds nothing due and re-arms.
    this.arm();
  }

  /** Takes `entry` out of the queue (no-op when not queued). */
  remove(entry: T): void {
    const slot = this.slotOf(entry);
    const i = slot.expiryIndex;
    if (i < 0) return;
    slot.expiryIndex = -1;
    const last = this.heap.pop()!;
    if (last === entry) return;
    const lastSlot = this.slotOf(last);
    this.heap[i] = last;
    lastSlot.expiryIndex = i;
    this.siftDown(i, lastSlot);
    this.siftUp(lastSlot.expiryIndex, lastSlot);
  }

  /** Stops the timer; queued entries stay queued but nothing expires until the next add. */
  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.armedAt = Number.POSITIVE_INFINITY;
  }

  private arm(): void {
    const first = this.heap[0];
    if (first === undefined) return;
    const deadline = this.slotOf(first).expiresAt;
    if (deadline >= this.armedAt) return;
    clearTimeout(this.timer);
    this.armedAt = deadline;
    this.timer = setTimeout(() => this.fire(), Math.max(0, Math.min(deadline - this.now(), MAX_TIMER_MS)));
    this.timer.unref();
  }

  private fire(): void {
    this.timer = undefined;
    this.armedAt = Number.POSITIVE_INFINITY;
    const now = this.now();
    try {
      for (let first = this.heap[0]; first !== undefined && this.slotOf(first).expiresAt <= now; first = this.heap[0]) {
        this.remove(first);
        this.onExpired(first);
      }
    } finally {
      this.arm();
    }
  }

  private siftUp(i: number, slot: Expiring): void {
    const { heap } = this;
    const entry = heap[i]!;
    while (i > 0) {
      const parentIndex = (i - 1) >> 1;
      const parent = heap[parentIndex]!;
      const parentSlot = this.slotOf(parent);
      if (parentSlot.expiresAt <= slot.expiresAt) break;
      heap[i] = parent;
      parentSlot.expiryIndex = i;
      i = parentIndex;
    }
    heap[i] = entry;
    slot.expiryIndex = i;
  }

  private siftDown(i: number, slot: Expiring): void {
    const { heap } = this;
    const n = heap.length;
    const entry = heap[i]!;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      let child = left;
      let childSlot = this.slotOf(heap[left]!);
      if (right < n) {
        const rightSlot = this.slotOf(heap[right]!);
        if (rightSlot.expiresAt < childSlot.expiresAt) {
          child = right;
          childSlot = rightSlot;
        }
      }
      if (childSlot.expiresAt >= slot.expiresAt) break;
      heap[i] = heap[child]!;
      childSlot.expiryIndex = i;
      i = child;
    }
    heap[i] = entry;
    slot.expiryIndex = i;
  }
}
