export interface HeapSettlerOptions {
  /** How often the connection count is read. @default 5000 */
  intervalMs?: number;
  /** Connections added since the last compaction (or the lowest count since) that make one due. @default 10000 */
  minGrowth?: number;
}

/**
 * Compacts the heap once a large connect ramp is over. A ramp allocates far more than the sockets
 * it leaves (upgrade requests, tokens, registrations); what outlives two scavenges is promoted
 * between the sockets' objects and leaves part-empty pages V8 keeps. When the count has grown by
 * `minGrowth` and then held still for one interval, one compacting collection gives those pages
 * back. It pauses the gateway (222-591 ms at 16,667 connections on a busy 2-core machine), so
 * smaller ramps, whose garbage is a few megabytes, are left to V8's own collections, and the
 * steady state never pays for compaction. Returns a function that stops it.
 */
export function startHeapSettler(connections: () => number, compact: () => void, options: HeapSettlerOptions = {}): () => void {
  const { intervalMs = 5000, minGrowth = 10_000 } = options;
  let settledAt = connections();
  let previous = settledAt;
  const timer = setInterval(() => {
    const now = connections();
    settledAt = Math.min(settledAt, now);
    const still = Math.abs(now - previous) < Math.max(1, minGrowth / 10);
    previous = now;
    if (now - settledAt < minGrowth || !still) return;
    compact();
    settledAt = now;
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
