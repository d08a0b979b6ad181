import { LARGE_FIRST_PAGES_TOTAL_MAX, type ChatMessage } from '@chat/protocol';
import { describe, expect, it } from 'vitest';
import { ReplyBudget } from '../read/reply-budget.js';
import { MemoryMessageStore } from '../store/memory-message-store.js';
import { withFirstPages } from './large-first-pages.js';

const message = (conversationId: string, seq: number, body = `m${seq}`): ChatMessage => ({
  conversation_id: conversationId,
  message_id: String(1000 + seq),
  seq,
  epoch: 'e',
  sender_id: 'alice',
  client_msg_id: `c${seq}`,
  body,
  created_at: seq,
});

async function storeWith(counts: Record<string, number>, body?: (seq: number) => string): Promise<MemoryMessageStore> {
  const store = new MemoryMessageStore();
  for (const [cid, n] of Object.entries(counts)) {
    await store.append(
      cid,
      Array.from({ length: n }, (_, i) => message(cid, i + 1, body?.(i + 1))),
      1n,
    );
  }
  return store;
}

const at = (cid: string, lastSeq: number, afterSeq: number) => ({ latest: { conversation_id: cid, epoch: 'e', last_seq: lastSeq }, afterSeq });
const seqs = (ms: ChatMessage[] | undefined) => (ms ?? []).map((m) => m.seq);

describe('withFirstPages', () => {
  it('pages after each position, at most perConversation each; none for a conversation read to its end', async () => {
    const store = await storeWith({ '1': 10, '2': 3 });
    const out = await withFirstPages(store, [at('1', 10, 4), at('2', 3, 3)], 4, new ReplyBudget());
    expect(out).toEqual([
      { conversation_id: '1', epoch: 'e', last_seq: 10, after_seq: 4, messages: [5, 6, 7, 8].map((s) => message('1', s)), has_more: true },
      { conversation_id: '2', epoch: 'e', last_seq: 3 },
    ]);
  });

  it(`takes at most ${LARGE_FIRST_PAGES_TOTAL_MAX} messages over all conversations, in list order`, async () => {
    const counts = Object.fromEntries(Array.from({ length: 6 }, (_, i) => [String(i + 1), 100]));
    const store = await storeWith(counts);
    const out = await withFirstPages(
      store,
      Object.keys(counts).map((cid) => at(cid, 100, 0)),
      100,
      new ReplyBudget(),
    );
    expect(out.map((e) => seqs(e.messages).length)).toEqual([100, 100, 100, 100, 100, 0]);
    expect(out.map((e) => e.has_more)).toEqual([false, false, false, false, false, true]);
  });

  it('takes what the budget holds: a cut page is a prefix with has_more, and an exhausted budget reads nothing', async () => {
    const store = await storeWith({ '1': 20, '2': 20 }, () => 'x'.repeat(1000));
    const budget = new ReplyBudget(5_500);
    const out = await withFirstPages(store, [at('1', 20, 0), at('2', 20, 10)], 20, budget);
    expect(seqs(out[0]!.messages)).toEqual([1, 2, 3, 4]);
    expect(out[0]!.has_more).toBe(true);
    expect(out[1]).toMatchObject({ after_seq: 10, messages: [], has_more: true });
    // Nothing fits after a full budget; the store is not read for it.
    let reads = 0;
    const counting = Object.assign(Object.create(store) as MemoryMessageStore, {
      readAfter: (...args: Parameters<MemoryMessageStore['readAfter']>) => (reads++, store.readAfter(...args)),
    });
    const full = new ReplyBudget(100);
    full.takeFront([message('9', 1, 'x'.repeat(200))]);
    expect((await withFirstPages(counting, [at('1', 20, 0)], 20, full))[0]).toMatchObject({ messages: [], has_more: true });
    expect(reads).toBe(0);
  });
});
