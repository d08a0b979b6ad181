/** A small typed event emitter with no Node dependency. Listener exceptions never break the emitter. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type EventMap = { [event: string]: (...args: any[]) => void };

export class TypedEmitter<E extends EventMap> {
  private readonly listeners = new Map<keyof E, Set<E[keyof E]>>();

  /** @param onListenerError called when a listener throws; by default the error is rethrown asynchronously. */
  constructor(private readonly onListenerError: (err: unknown, event: keyof E) => void = reportAsync) {}

  /** Adds a listener; returns a function that removes it. */
  on<K extends keyof E>(event: K, listener: E[K]): () => void {
    let set = this.listeners.get(event);
    if (!set) {
      set = new Set();
      this.listeners.set(event, set);
    }
    set.add(listener);
    return () => this.off(event, listener);
  }

  /** Adds a listener that is removed after its first call. */
  once<K extends keyof E>(event: K, listener: E[K]): () => void {
    const wrapper = ((...args: Parameters<E[K]>) => {
      off();
      listener(...args);
    }) as E[K];
    const off = this.on(event, wrapper);
    return off;
  }

  off<K extends keyof E>(event: K, listener: E[K]): void {
    this.listeners.get(event)?.delete(listener);
  }

  listenerCount<K extends keyof E>(event: K): number {
    return this.listeners.get(event)?.size ?? 0;
  }

  emit<K extends keyof E>(event: K, ...args: Parameters<E[K]>): void {
    const set = this.listeners.get(event);
    if (!set) return;
    for (const listener of [...set]) {
      try {
        listener(...args);
      } catch (err) {
        this.onListenerError(err, event);
      }
    }
  }

  removeAllListeners(): void {
    this.listeners.clear();
  }
}

function reportAsync(err: unknown): void {
  queueMicrotask(() => {
    throw err;
  });
}
