/**
 * Runs `measure` at most once per `intervalMs`; calls in between get the last result and when it
 * was taken. For costly diagnostics (a forced full GC) that anyone reaching the internal port could
 * otherwise repeat back to back and pause the process with.
 */
export function atMostEvery<T>(intervalMs: number, measure: () => T, now: () => number = Date.now): () => { value: T; measuredAt: number } {
  let last: { value: T; measuredAt: number } | undefined;
  return () => {
    const t = now();
    if (!last || t - last.measuredAt >= intervalMs) last = { value: measure(), measuredAt: t };
    return last;
  };
}
