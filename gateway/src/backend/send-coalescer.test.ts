import { ChatError, Errors } from '@chat/protocol';
import type { InternalSendRequest, InternalSendResult } from '@chat/protocol/internal';
import { describe, expect, it, vi } from 'vitest';
import { SendCoalescer } from './send-coalescer.js';

const req = (i: number): InternalSendRequest => ({ user_id: 'u', conversation_id: String(i), client_msg_id: `c${i}`, body: 'b' });
const ok = (r: InternalSendRequest): InternalSendResult => ({
  ok: { conversation_id: r.conversation_id, client_msg_id: r.client_msg_id, message_id: `m${r.conversation_id}`, duplicate: false },
});

describe('SendCoalescer', () => {
  it('puts sends of one event-loop turn into one batch and answers each caller', async () => {
    const batches: number[] = [];
    const c = new SendCoalescer(async (requests) => {
      batches.push(requests.length);
      return requests.map(ok);
    });
    const acks = await Promise.all([1, 2, 3].map((i) => c.send(req(i))));
    expect(batches).toEqual([3]);
    expect(acks.map((a) => a.message_id)).toEqual(['m1', 'm2', 'm3']);
  });

  it('rejects only the refused item with its own registry error', async () => {
    const c = new SendCoalescer(async (requests) =>
      requests.map((r) => (r.conversation_id === '2' ? { error: { ...new ChatError(Errors.NOT_MEMBER).toJSON() } } : ok(r))),
    );
    const [a, b] = await Promise.allSettled([c.send(req(1)), c.send(req(2))]);
    expect(a.status).toBe('fulfilled');
    expect(b.status === 'rejected' && (b.reason as ChatError).def).toBe(Errors.NOT_MEMBER);
  });

  it('fails every send of a batch whose request failed', async () => {
    const c = new SendCoalescer(async () => {
      throw new ChatError(Errors.UNAVAILABLE);
    });
    const results = await Promise.allSettled([c.send(req(1)), c.send(req(2))]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
  });

  it('keeps at most maxInFlight batches out and sends the rest when one returns', async () => {
    const releases: (() => void)[] = [];
    let concurrent = 0;
    let peak = 0;
    const c = new SendCoalescer(
      async (requests) => {
        peak = Math.max(peak, ++concurrent);
        await new Promise<void>((r) => releases.push(r));
        concurrent--;
        return requests.map(ok);
      },
      { maxInFlight: 1 },
    );
    const first = c.send(req(1));
    await new Promise((r) => setImmediate(r));
    const later = [c.send(req(2)), c.send(req(3))];
    await new Promise((r) => setImmediate(r));
    expect(releases).toHaveLength(1);
    releases.shift()!();
    await first;
    await new Promise((r) => setImmediate(r));
    releases.shift()!();
    expect((await Promise.all(later)).map((a) => a.message_id)).toEqual(['m2', 'm3']);
    expect(peak).toBe(1);
  });

  it('item 14: a send still queued at its deadline is answered 4101 and never sent; one in flight is answered by its deadline', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    try {
      const sent: string[] = [];
      const budgets: number[] = [];
      const c = new SendCoalescer(
        (requests, budgetMs) => {
          sent.push(...requests.map((r) => r.client_msg_id));
          budgets.push(budgetMs);
          return new Promise<InternalSendResult[]>(() => undefined); // chat-service never answers
        },
        { maxInFlight: 1, deadlineMs: 1000, returnMarginMs: 100 },
      );
      const first = c.send(req(1)).catch((e: unknown) => e);
      await new Promise((r) => setImmediate(r));
      const second = c.send(req(2)).catch((e: unknown) => e);
      await new Promise((r) => setImmediate(r));
      await vi.advanceTimersByTimeAsync(1000);
      const [a, b] = [(await first) as ChatError, (await second) as ChatError];
      expect([a.def, b.def]).toEqual([Errors.UNAVAILABLE, Errors.UNAVAILABLE]);
      expect(b.message).toMatch(/not sent/);
      expect(sent).toEqual(['c1']);
      expect(budgets).toEqual([900]);
      expect(c.pendingBytes).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });

  it('item 15: sends queued or in flight are bounded by bytes; over the bound a send is refused with 4101 at once', async () => {
    const releases: (() => void)[] = [];
    const c = new SendCoalescer(
      async (requests) => {
        await new Promise<void>((r) => releases.push(r));
        return requests.map(ok);
      },
      { maxQueuedBytes: 3000 },
    );
    const big = (i: number): InternalSendRequest => ({ ...req(i), body: 'x'.repeat(1000) });
    const accepted = [c.send(big(1)), c.send(big(2))];
    const refused = await c.send(big(3)).catch((e: unknown) => e);
    expect((refused as ChatError).def).toBe(Errors.UNAVAILABLE);
    expect((refused as ChatError).message).toMatch(/queue full/);
    await new Promise((r) => setImmediate(r));
    for (const r of releases) r();
    await Promise.all(accepted);
    expect(c.pendingBytes).toBe(0);
    const after = c.send(big(4));
    await new Promise((r) => setImmediate(r));
    releases.at(-1)?.();
    expect((await after).message_id).toBe('m4');
  });
});
