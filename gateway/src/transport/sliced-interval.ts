/** The length of one step of a sliced interval: a periodic pass over many keys takes one slice per step. */
const STEP_MS = 1000;

/** How many slices an interval of `intervalMs` is cut into (one per second, at least one). */
export function sliceCount(intervalMs: number): number {
  return Math.max(1, Math.round(intervalMs / STEP_MS));
}

/** Which of `slices` parts a key falls in: always the same for a key, spread evenly over keys (FNV-1a). */
export function sliceOf(key: string, slices: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return (h >>> 0) % slices;
}

/** The keys of `items` (by `keyOf`) that fall in one slice, read lazily. */
export function* inSlice<T>(items: Iterable<T>, keyOf: (item: T) => string, slice: number, slices: number): Generator<T> {
  for (const item of items) if (sliceOf(keyOf(item), slices) === slice) yield item;
}

/**
 * Calls `pass(slice, slices)` every `intervalMs / slices`, for slice 0, 1, … in turn, so that a
 * periodic pass over every key (routing refreshes, presence heartbeats) is a steady trickle instead
 * of one burst per interval, and processes started together do not burst together. Each key's turn
 * comes once per interval. `pass` returns false when it could not run (the previous one is still
 * busy): the same slice is offered again at the next step. Returns a stop function.
 */
export function startSlicedInterval(intervalMs: number, pass: (slice: number, slices: number) => boolean): () => void {
  const slices = sliceCount(intervalMs);
  let next = 0;
  const timer = setInterval(() => {
    if (pass(next, slices)) next = (next + 1) % slices;
  }, intervalMs / slices);
  timer.unref();
  return () => clearInterval(timer);
}
