import { ChatError, Errors } from '@chat/protocol';
import { describe, expect, it } from 'vitest';
import { BatchQueue, type BatchQueueOptions } from './batch-queue.js';

const opts: BatchQueueOptions<number> = { maxInFlight: 1, maxBatchWeight: 4, queueTimeoutMs: 10_000, service: 'backend' };
const turn = () => new Promise((r) => setImmediate(r));

/** A backend whose batches are answered only when the test says so. */
function heldBackend() {
  const batches: number[][] = [];
  const releases: (() => void)[] = [];
  const send = async (items: number[]) => {
    batches.push(items);
    await new Promise<void>((r) => releases.push(r));
    return items.map((n) => n * 10);
  };
  return { batches, send, releaseNext: () => releases.shift()?.() };
}

describe('BatchQueue', () => {
  it('item 18: a storm waits in arrival order behind maxInFlight batches of at most maxBatchWeight, and each caller gets its own result', async () => {
    const backend = heldBackend();
    const q = new BatchQueue(backend.send, opts);
    const results = Array.from({ length: 10 }, (_, i) => q.submit(i));
    await turn();
    expect(backend.batches).toEqual([[0, 1, 2, 3]]); // one batch out; the rest wait here, not in the backend
    expect(q.queued).toBe(6);
    for (let k = 0; k < 3; k++) {
      backend.releaseNext();
      await turn();
      await turn();
    }
    expect(backend.batches).toEqual([
      [0, 1, 2, 3],
      [4, 5, 6, 7],
      [8, 9],
    ]);
    expect(await Promise.all(results)).toEqual([0, 10, 20, 30, 40, 50, 60, 70, 80, 90]);
  });

  it('sends a heavier item alone and weighs items with the weight function', async () => {
    const backend = heldBackend();
    const q = new BatchQueue(backend.send, { ...opts, maxInFlight: 3, weight: (n) => n });
    const results = [q.submit(1), q.submit(9), q.submit(2), q.submit(2)];
    for (let k = 0; k < 3; k++) await turn(); // one batch starts per turn
    expect(backend.batches).toEqual([[1], [9], [2, 2]]);
    for (let k = 0; k < 3; k++) backend.releaseNext();
    expect(await Promise.all(results)).toEqual([10, 90, 20, 20]);
  });

  it('fails only the item whose slot holds an Error, fails all when the batch throws, and a missing result is INTERNAL', async () => {
    const perItem = new BatchQueue(async (items: number[]) => items.slice(0, 2).map((n) => (n === 1 ? new ChatError(Errors.NOT_MEMBER) : n)), opts);
    const settled = await Promise.allSettled([perItem.submit(0), perItem.submit(1), perItem.submit(2)]);
    expect(settled[0]).toEqual({ status: 'fulfilled', value: 0 });
    expect(settled[1]).toMatchObject({ status: 'rejected', reason: { def: Errors.NOT_MEMBER } });
    expect(settled[2]).toMatchObject({ status: 'rejected', reason: { def: Errors.INTERNAL } });

    const failing = new BatchQueue(async (): Promise<number[]> => {
      throw new ChatError(Errors.UNAVAILABLE, 'down');
    }, opts);
    const all = await Promise.allSettled([failing.submit(0), failing.submit(1)]);
    expect(all.map((s) => s.status)).toEqual(['rejected', 'rejected']);
  });

  it('item 18: refuses an item still waiting after queueTimeoutMs when it expires, never sending it, with a retry-after hint', async () => {
    const backend = heldBackend();
    const q = new BatchQueue(backend.send, { ...opts, maxBatchWeight: 1, queueTimeoutMs: 30 });
    const first = q.submit(1);
    await turn();
    const late = q.submit(2).catch((err: unknown) => err);
    await new Promise((r) => setTimeout(r, 60)); // the first batch is still out
    expect(await late).toMatchObject({ def: Errors.UNAVAILABLE, retryAfterMs: 1000 });
    expect(q.queued).toBe(0);
    backend.releaseNext();
    expect(await first).toBe(10);
    await turn();
    expect(backend.batches).toEqual([[1]]);
  });

  it('refuses at once beyond maxWaiting', async () => {
    const backend = heldBackend();
    const q = new BatchQueue(backend.send, { ...opts, maxBatchWeight: 1, maxWaiting: 2 });
    const sent = q.submit(1);
    await turn();
    const waiting = [q.submit(2), q.submit(3)];
    await expect(q.submit(4)).rejects.toMatchObject({ def: Errors.UNAVAILABLE });
    for (let k = 0; k < 3; k++) {
      backend.releaseNext();
      await turn();
      await turn();
    }
    expect(await Promise.all([sent, ...waiting])).toEqual([10, 20, 30]);
  });
});
