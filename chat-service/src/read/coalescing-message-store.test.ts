import type { ChatMessage } from '@chat/protocol';
import { describe, expect, it } from 'vitest';
import { MemoryMessageStore } from '../store/memory-message-store.js';
import { CoalescingMessageStore } from './coalescing-message-store.js';

const CONV = '1001';

function message(seq: number, body = `m${seq}`): ChatMessage {
  return { conversation_id: CONV, message_id: String(1000 + seq), seq, epoch: 'e1', sender_id: 'alice', client_msg_id: `c${seq}`, body, created_at: 1 };
}

/** A store whose reads wait until released, counting how many reach it. */
class GatedStore extends MemoryMessageStore {
  lastSeqCalls = 0;
  rangeCalls = 0;
  failNextRange = false;
  private gates: (() => void)[] = [];

  private gate(): Promise<void> {
    return new Promise((resolve) => this.gates.push(resolve));
  }

  releaseAll(): void {
    for (const open of this.gates.splice(0)) open();
  }

  override async lastSeq(conversationId: string): Promise<number> {
    this.lastSeqCalls++;
    const seen = await super.lastSeq(conversationId); // what storage held when the read started
    await this.gate();
    return seen;
  }

  override async readAfter(conversationId: string, afterSeq: number, untilSeq: number, limit: number): Promise<ChatMessage[]> {
    this.rangeCalls++;
    await this.gate();
    if (this.failNextRange) {
      this.failNextRange = false;
      throw new Error('storage down');
    }
    return super.readAfter(conversationId, afterSeq, untilSeq, limit);
  }
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

async function releaseUntil<T>(inner: GatedStore, promise: Promise<T>): Promise<T> {
  let done = false;
  void promise.finally(() => (done = true)).catch(() => undefined);
  while (!done) {
    inner.releaseAll();
    await settle();
  }
  return promise;
}

describe('CoalescingMessageStore (item 18: cheaper sync under a reconnect storm)', () => {
  it('a caller never joins a last-seq read that started before it asked', async () => {
    const inner = new GatedStore();
    await inner.append(CONV, [message(1)], 1n);
    const store = new CoalescingMessageStore(inner);

    const early = store.lastSeq(CONV); // read 1 starts now
    await inner.append(CONV, [message(2)], 1n); // stored after read 1 started...
    const late = [store.lastSeq(CONV), store.lastSeq(CONV), store.lastSeq(CONV)]; // ...but before these asked

    expect(await releaseUntil(inner, early)).toBe(1);
    expect(await releaseUntil(inner, Promise.all(late))).toEqual([2, 2, 2]);
    expect(inner.lastSeqCalls).toBe(2); // the three late callers shared one read
  });

  it('identical ranges share one read; a failed read is not cached', async () => {
    const inner = new GatedStore();
    await inner.append(CONV, [message(1), message(2), message(3)], 1n);
    const store = new CoalescingMessageStore(inner);

    inner.failNextRange = true;
    await expect(releaseUntil(inner, store.readAfter(CONV, 0, 3, 10))).rejects.toThrow('storage down');
    const reads = Array.from({ length: 20 }, () => store.readAfter(CONV, 0, 3, 10));
    const pages = await releaseUntil(inner, Promise.all(reads));
    expect(pages.every((p) => p.map((m) => m.seq).join() === '1,2,3')).toBe(true);
    expect(inner.rangeCalls).toBe(2);
    await releaseUntil(inner, store.readAfter(CONV, 1, 3, 10));
    expect(inner.rangeCalls).toBe(3); // a different range is a different read
  });

  it('keeps cached ranges within the byte budget and for at most the TTL', async () => {
    const inner = new GatedStore();
    await inner.append(
      CONV,
      Array.from({ length: 10 }, (_, i) => message(i + 1, 'x'.repeat(1000))),
      1n,
    );
    let now = 0;
    const store = new CoalescingMessageStore(inner, { maxRangeBytes: 5000, rangeTtlMs: 1000 }, () => now);

    await releaseUntil(inner, store.readAfter(CONV, 0, 2, 10)); // ~4.4 KB: fits
    await releaseUntil(inner, store.readAfter(CONV, 2, 4, 10)); // pushes the first one out
    expect(inner.rangeCalls).toBe(2);
    await releaseUntil(inner, store.readAfter(CONV, 2, 4, 10));
    expect(inner.rangeCalls).toBe(2); // still cached
    await releaseUntil(inner, store.readAfter(CONV, 0, 2, 10));
    expect(inner.rangeCalls).toBe(3); // evicted by the budget
    now = 1001;
    await releaseUntil(inner, store.readAfter(CONV, 0, 2, 10));
    expect(inner.rangeCalls).toBe(4); // expired
  });
});
