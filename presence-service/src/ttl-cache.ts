/**
 * A small TTL cache of async loads: concurrent misses for one key share one load, failed loads
 * are not cached, and the oldest entries are evicted beyond `maxEntries`.
 */
export class TtlCache<V> {
  private readonly entries = new Map<string, { value: Promise<V>; expiresAt: number; settled?: V }>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 100_000,
    private readonly now: () => number = Date.now,
  ) {}

  get(key: string, load: () => Promise<V>): Promise<V> {
    const t = this.now();
    const hit = this.entries.get(key);
    if (hit && hit.expiresAt > t) return hit.value;
    if (hit) this.entries.delete(key);
    const value = load();
    const entry: { value: Promise<V>; expiresAt: number; settled?: V } = { value, expiresAt: t + this.ttlMs };
    this.entries.set(key, entry);
    value.then(
      (v) => {
        entry.settled = v;
      },
      () => {
        if (this.entries.get(key)?.value === value) this.entries.delete(key);
      },
    );
    if (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    return value;
  }

  /** The loaded value if it is cached and not expired, without waiting (undefined while loading or missing). */
  peek(key: string): V | undefined {
    const hit = this.entries.get(key);
    return hit && hit.expiresAt > this.now() ? hit.settled : undefined;
  }

  delete(key: string): void {
    this.entries.delete(key);
  }
}
