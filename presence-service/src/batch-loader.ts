/**
 * Loads values by key in batches: the keys asked for in one event-loop turn are loaded together,
 * at most `maxBatch` per load. Each caller gets its key's value, or the error of its batch's load.
 * `loadMany` resolves with a value for every key it was given (a key it omits is an error).
 */
export class BatchLoader<V> {
  private pending = new Map<string, { resolve: (v: V) => void; reject: (err: unknown) => void }[]>();
  private scheduled = false;

  constructor(
    private readonly loadMany: (keys: string[]) => Promise<Map<string, V>>,
    private readonly maxBatch = 100,
  ) {}

  load(key: string): Promise<V> {
    return new Promise((resolve, reject) => {
      const waiting = this.pending.get(key);
      if (waiting) waiting.push({ resolve, reject });
      else this.pending.set(key, [{ resolve, reject }]);
      if (this.scheduled) return;
      this.scheduled = true;
      setImmediate(() => this.flush());
    });
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.pending;
    this.pending = new Map();
    const keys = [...batch.keys()];
    for (let i = 0; i < keys.length; i += this.maxBatch) {
      const part = keys.slice(i, i + this.maxBatch);
      this.loadMany(part).then(
        (values) => {
          for (const k of part) {
            const v = values.get(k);
            for (const w of batch.get(k)!) {
              if (v === undefined) w.reject(new Error(`batch load returned no value for ${k}`));
              else w.resolve(v);
            }
          }
        },
        (err: unknown) => {
          for (const k of part) for (const w of batch.get(k)!) w.reject(err);
        },
      );
    }
  }
}
