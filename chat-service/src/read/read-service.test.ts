import type { ChatMessage } from '@chat/protocol';
import { describe, expect, it } from 'vitest';
import type { MembershipCache, MembershipEntry } from '../store/membership-cache.js';
import { MemoryMessageStore } from '../store/memory-message-store.js';
import { CoalescingMessageStore } from './coalescing-message-store.js';
import type { LatestSeqs } from './latest-seqs.js';
import { ReadService } from './read-service.js';

const limits = { historyMaxLimit: 100, resumeMaxMessages: 1000, syncConcurrency: 4 };

function entry(conversationId: string, members: string[]): MembershipEntry {
  const conversation = { conversation_id: conversationId, kind: 'group' as const, title: null, created_by: members[0]!, created_at: 0, epoch: 'e1' };
  return { conversation, members: new Set(members), joinedSeqs: new Map(), loadedAt: 0, refreshAt: 0, version: null };
}

function message(conversationId: string, seq: number): ChatMessage {
  return {
    conversation_id: conversationId,
    message_id: `${conversationId}${seq}`,
    seq,
    epoch: 'e1',
    sender_id: 'u0',
    client_msg_id: `c${seq}`,
    body: 'hi',
    created_at: 0,
  };
}

/** A ReadService over memory stores that counts storage reads. */
async function service(entries: MembershipEntry[]) {
  const inner = new MemoryMessageStore();
  for (const e of entries)
    await inner.append(
      e.conversation.conversation_id,
      [1, 2, 3].map((seq) => message(e.conversation.conversation_id, seq)),
      1n,
    );
  const reads = { lastSeq: 0, membership: 0, failFor: '' };
  const counted = Object.assign(Object.create(inner) as MemoryMessageStore, {
    lastSeq: (id: string) => {
      reads.lastSeq++;
      return inner.lastSeq(id);
    },
    readAfter: (id: string, after: number, until: number, limit: number) =>
      reads.failFor === `${id}>${after}` ? Promise.reject(new Error('read failed')) : inner.readAfter(id, after, until, limit),
  });
  const byId = new Map(entries.map((e) => [e.conversation.conversation_id, e]));
  const membership = {
    get: async (id: string) => {
      reads.membership++;
      return byId.get(id) ?? null;
    },
  } as unknown as MembershipCache;
  return { reads, svc: new ReadService(membership, new CoalescingMessageStore(counted), {} as LatestSeqs, limits) };
}

describe('ReadService.syncMany', () => {
  it("item 18: reads each conversation's membership and last seq once for a whole batch of resumes", async () => {
    const users = Array.from({ length: 40 }, (_, i) => `u${i}`);
    const { reads, svc } = await service([entry('1', users), entry('2', users)]);
    const results = await svc.syncMany(users.map((userId, i) => ({ userId, positions: [{ conversation_id: String((i % 2) + 1), seq: i % 3, epoch: 'e1' }] })));
    expect(reads).toMatchObject({ lastSeq: 2, membership: 2 });
    results.forEach((r, i) => {
      if (r instanceof Error) throw r;
      expect(r).toMatchObject([{ conversation_id: String((i % 2) + 1), status: 'ok', last_seq: 3 }]);
      expect(r[0]!.messages.map((m) => m.seq)).toEqual([1, 2, 3].filter((s) => s > i % 3));
    });
  });

  it('answers not_member per request and reads no seq of a conversation none of the batch is in', async () => {
    const { reads, svc } = await service([entry('1', ['alice']), entry('2', ['bob'])]);
    const [alice, mallory] = await svc.syncMany([
      { userId: 'alice', positions: [{ conversation_id: '1', seq: 0 }] },
      { userId: 'mallory', positions: [{ conversation_id: '2', seq: 0 }] },
    ]);
    expect(alice).toMatchObject([{ conversation_id: '1', status: 'ok', last_seq: 3 }]);
    expect(mallory).toEqual([{ conversation_id: '2', epoch: '', status: 'resync', reason: 'not_member', last_seq: 0, messages: [] }]);
    expect(reads.lastSeq).toBe(1);
  });

  it('gives a request whose message read failed its own error and answers the others', async () => {
    const { reads, svc } = await service([entry('1', ['alice', 'bob'])]);
    reads.failFor = '1>1';
    const [alice, bob] = await svc.syncMany([
      { userId: 'alice', positions: [{ conversation_id: '1', seq: 0 }] },
      { userId: 'bob', positions: [{ conversation_id: '1', seq: 1 }] },
    ]);
    expect(alice).toMatchObject([{ status: 'ok', messages: [{ seq: 1 }, { seq: 2 }, { seq: 3 }] }]);
    expect(bob).toBeInstanceOf(Error);
    await expect(svc.sync('bob', [{ conversation_id: '1', seq: 1 }])).rejects.toThrow('read failed');
  });
});
