export interface HeapSettlerOptions {
  /** How often the connection count is read. @default 5000 */
  intervalMs?: number;
  /** Connections added since the last settling (or the lowest count since) that make one due. @default 2000 */
  minGrowth?: number;
}

/**
 * Hands a connect ramp's garbage back once the ramp is over. A ramp allocates far more than the
 * sockets it leaves (upgrade requests, tokens, registrations), and what outlives two scavenges is
 * promoted between the sockets' objects; V8 grows old space to hold it and keeps the pages. When
 * the count has grown by `minGrowth` and then held still for one interval, two full collections
 * free the garbage and give the emptied pages back. Only then: the steady state keeps V8's own
 * heuristics, whose fewer and non-compacting full collections keep the event loop's pauses short
 * (compacting on every full collection instead paused each gateway for 50-570 ms, two or three
 * times per half-minute, at 1,000 messages per second). Returns a function that stops it.
 */
export function startHeapSettler(connections: () => number, compact: () => void, options: HeapSettlerOptions = {}): () => void {
  const { intervalMs = 5000, minGrowth = 2000 } = options;
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
