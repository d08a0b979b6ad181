/**
 * A Map bounded by an approximate byte budget, evicting the least recently used entries.
 * Sizes come from `sizeOf` (an estimate of the entry's heap footprint, key included); after
 * mutating a stored value in place, call `resize` so the budget stays honest. An entry larger
 * than a quarter of the budget is not kept at all (it would evict most of the cache).
 */
export class ByteLru<K, V> {
  private readonly entries = new Map<K, { value: V; bytes: number }>();
  private total = 0;

  constructor(
    readonly maxBytes: number,
    private readonly sizeOf: (key: K, value: V) => number,
    private readonly onEvict: (key: K, value: V) => void = () => undefined,
  ) {}

  get bytes(): number {
    return this.total;
  }

  get size(): number {
    return this.entries.size;
  }

  has(key: K): boolean {
    return this.entries.has(key);
  }

  /** The value, marked most recently used. */
  get(key: K): V | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    this.entries.delete(key);
    this.entries.set(key, e);
    return e.value;
  }

  /** Stores `value` as most recently used; returns false when it is too large to keep. */
  set(key: K, value: V): boolean {
    this.delete(key);
    const bytes = this.sizeOf(key, value);
    if (bytes > this.maxBytes / 4) return false;
    this.entries.set(key, { value, bytes });
    this.total += bytes;
    this.evictOverBudget(key);
    return true;
  }

  /** Re-measures an entry whose value was changed in place. */
  resize(key: K): void {
    const e = this.entries.get(key);
    if (!e) return;
    const bytes = this.sizeOf(key, e.value);
    this.total += bytes - e.bytes;
    e.bytes = bytes;
    if (bytes > this.maxBytes / 4) this.evict(key, e.value);
    else this.evictOverBudget(key);
  }

  delete(key: K): boolean {
    const e = this.entries.get(key);
    if (!e) return false;
    this.entries.delete(key);
    this.total -= e.bytes;
    return true;
  }

  keys(): IterableIterator<K> {
    return this.entries.keys();
  }

  clear(): void {
    for (const [key, e] of [...this.entries]) this.evict(key, e.value);
  }

  private evict(key: K, value: V): void {
    this.delete(key);
    this.onEvict(key, value);
  }

  private evictOverBudget(keep: K): void {
    for (const [key, e] of this.entries) {
      if (this.total <= this.maxBytes) return;
      if (key !== keep) this.evict(key, e.value);
    }
  }
}

/** Rough heap bytes of a JS string (UTF-16, plus header). */
export function stringBytes(s: string): number {
  return 24 + 2 * s.length;
}
