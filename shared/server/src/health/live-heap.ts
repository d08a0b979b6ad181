import { getHeapSpaceStatistics, getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** V8 heap figures right after a full garbage collection. */
export interface LiveHeap {
  /** Bytes of live JavaScript objects (heap used after the collection). */
  usedBytes: number;
  /** Bytes V8 holds for the heap (committed capacity, live or not). */
  totalBytes: number;
  /** Bytes outside the heap owned by JavaScript objects (Buffers, ArrayBuffers). */
  externalBytes: number;
  /** Per V8 heap space (new_space, old_space, code_space, large_object_space, …): [used, committed] bytes. */
  spaces: Record<string, [used: number, size: number]>;
}

let collect: (() => void) | undefined;

/**
 * Runs a full (blocking) garbage collection: tens of milliseconds on a heap of 100 MB, hundreds
 * when it compacts on a busy machine. `--expose-gc` is switched on at the first call, so no
 * process needs a start-up flag for it.
 */
function collectGarbage(): void {
  if (!collect) {
    setFlagsFromString('--expose-gc');
    collect = runInNewContext('gc') as () => void;
  }
  collect();
}

/** Whether the process was started compacting on every full collection (compactHeap leaves that on). */
const alwaysCompacting = process.execArgv.includes('--compact-on-every-full-gc');

/**
 * A full collection that moves every live object together; V8's own full collections compact only
 * the most fragmented pages, so a heap that held much short-lived garbage keeps many part-empty
 * pages. The emptied pages go back to the system shortly after, off the main thread.
 */
export function compactHeap(): void {
  setFlagsFromString('--compact-on-every-full-gc');
  try {
    collectGarbage();
  } finally {
    if (!alwaysCompacting) setFlagsFromString('--no-compact-on-every-full-gc');
  }
}

/** Runs a full garbage collection (collectGarbage) and reports what stays. For internal diagnostics only. */
export function measureLiveHeap(): LiveHeap {
  collectGarbage();
  const s = getHeapStatistics();
  const spaces = Object.fromEntries(getHeapSpaceStatistics().map((sp): [string, [number, number]] => [sp.space_name, [sp.space_used_size, sp.space_size]]));
  return { usedBytes: s.used_heap_size, totalBytes: s.total_heap_size, externalBytes: s.external_memory, spaces };
}
