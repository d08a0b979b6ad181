import type { ChatMessage } from '@chat/protocol';
import type { MessageRecord } from '@chat/protocol/internal';
import { describe, expect, it } from 'vitest';
import { MemoryMessageStore } from '../store/memory-message-store.js';
import type { MemorySequencedSendStore } from '../store/memory-sequenced-send-store.js';
import { BUCKET_SIZE } from '../store/message-store.js';
import { testTimestamps } from './test-timestamps.js';
import { DEDUP_WINDOW_MS, Sequencer, bodyHash, type SequencerOptions } from './sequencer.js';

const CONV = '1001';
const OTHER = '1002';
const epochOf = async (cid: string) => (cid === CONV || cid === OTHER ? 'e1' : null);

let nextId = 1;
function record(overrides: Partial<MessageRecord> = {}): MessageRecord {
  const id = String(nextId++);
  return {
    v: 1,
    type: 'message',
    conversation_id: CONV,
    message_id: id,
    sender_id: 'alice',
    client_msg_id: `c${id}`,
    body: `hi ${id}`,
    created_at: 1,
    ...overrides,
  };
}

interface Stores {
  messages: MemoryMessageStore;
  sends: MemorySequencedSendStore;
}
const stores = (): Stores => {
  const messages = new MemoryMessageStore();
  return { messages, sends: messages.sends };
};
const sequencer = (s: Stores, generation = 1, options: SequencerOptions = {}) =>
  new Sequencer({ messages: s.messages, sends: s.sends, epochOf, timestamp: testTimestamps(generation) }, options);

const stored = async (store: MemoryMessageStore, cid = CONV) => (await store.readAfter(cid, 0, 1e9, 1e9)).map((m) => [m.seq, m.message_id]);
const seqs = (messages: ChatMessage[]) => messages.map((m) => m.seq);

describe('Sequencer', () => {
  it('assigns dense seqs in record order across batches', async () => {
    const s = stores();
    const seq = sequencer(s);
    const a = await seq.process([record(), record(), record()]);
    const b = await seq.process([record(), record()]);
    expect(seqs([...a.messages, ...b.messages])).toEqual([1, 2, 3, 4, 5]);
    expect((await stored(s.messages)).map(([n]) => n)).toEqual([1, 2, 3, 4, 5]);
  });

  it('gives a replayed record the seq it already had, under a new owner', async () => {
    const s = stores();
    const batch = [record(), record(), record()];
    const first = await sequencer(s, 1).process(batch);
    const replay = await sequencer(s, 2).process([...batch, record()]);
    expect(replay.messages.map((m) => [m.message_id, m.seq])).toEqual([
      ...first.messages.map((m) => [m.message_id, m.seq]),
      [replay.messages[3]!.message_id, 4],
    ]);
  });

  it('item 3: a replay far larger than any in-memory state keeps every seq (decided from storage)', async () => {
    const s = stores();
    const backlog = Array.from({ length: 5000 }, () => record());
    // The first owner stores 3,000 of them, a chunk at a time, then dies without committing anything.
    const first = sequencer(s, 1, { recentPerConversation: 16 });
    for (let i = 0; i < 3000; i += 1000) await first.process(backlog.slice(i, i + 1000));
    // The next owner gets everything again from offset 0.
    const next = sequencer(s, 2, { recentPerConversation: 16 });
    const delivered: ChatMessage[] = [];
    for (let i = 0; i < 5000; i += 1000) delivered.push(...(await next.process(backlog.slice(i, i + 1000))).messages);
    expect(seqs(delivered)).toEqual(Array.from({ length: 5000 }, (_, i) => i + 1));
    expect(await stored(s.messages)).toEqual(backlog.map((r, i) => [i + 1, r.message_id]));
  });

  it('item 3: a crash during the message write (the dedup rows are part of it) neither duplicates nor leaves a gap', async () => {
    const s = stores();
    const batch = [record(), record(), record()];
    const original = s.messages.append.bind(s.messages);
    s.messages.append = async () => {
      throw new Error('crash before the message write');
    };
    const dead = await sequencer(s, 1).process(batch);
    expect(dead.failed.size).toBe(1);
    s.messages.append = original;
    const replay = await sequencer(s, 2).process(batch);
    expect(seqs(replay.messages)).toEqual([1, 2, 3]);
    expect(await stored(s.messages)).toEqual(batch.map((r, i) => [i + 1, r.message_id]));
  });

  it('item 3: a dedup row whose message was never stored (or whose seq holds another message) is not trusted', async () => {
    const s = stores();
    const [r0, r1, r2] = [record(), record(), record()];
    const row = (r: MessageRecord, seq: number) => ({
      conversation_id: CONV,
      sender_id: r.sender_id,
      client_msg_id: r.client_msg_id,
      message_id: r.message_id,
      seq,
      body_sha256: bodyHash(r.body),
      created_at: r.created_at,
    });
    // Rows claim r1 → 1 and r2 → 2, but only r0 ever got stored (at seq 1).
    s.sends.record([row(r1, 1), row(r2, 2)], 1n);
    await sequencer(s, 1).process([r0]);
    const out = await sequencer(s, 2).process([r1, r2]);
    expect(out.messages.map((m) => [m.seq, m.message_id])).toEqual([
      [2, r1.message_id],
      [3, r2.message_id],
    ]);
    expect(await stored(s.messages)).toEqual([
      [1, r0.message_id],
      [2, r1.message_id],
      [3, r2.message_id],
    ]);
  });

  it('re-derives the same seqs when a write failed', async () => {
    const s = stores();
    const original = s.messages.append.bind(s.messages);
    let failOnce = true;
    s.messages.append = async (cid, messages, ts, sends) => {
      if (failOnce) {
        failOnce = false;
        throw new Error('storage down');
      }
      return original(cid, messages, ts, sends);
    };
    const seq = sequencer(s);
    const batch = [record(), record()];
    expect((await seq.process(batch)).failed.get(CONV)?.message).toMatch(/storage down/);
    expect(seqs((await seq.process(batch)).messages)).toEqual([1, 2]);
    expect(await s.messages.lastSeq(CONV)).toBe(2);
  });

  it('keeps stored seqs gap-free when a batch crosses a bucket boundary', async () => {
    const s = stores();
    const seq = sequencer(s);
    await seq.process(Array.from({ length: BUCKET_SIZE - 2 }, () => record()));
    const crossing = await seq.process(Array.from({ length: 5 }, () => record()));
    expect(seqs(crossing.messages)).toEqual([BUCKET_SIZE - 1, BUCKET_SIZE, BUCKET_SIZE + 1, BUCKET_SIZE + 2, BUCKET_SIZE + 3]);
    expect(await s.messages.lastSeq(CONV)).toBe(BUCKET_SIZE + 3);
  });

  it('lets a newer owner win over a consumer that lost the partition', async () => {
    const s = stores();
    const zombie = sequencer(s, 1);
    const owner = sequencer(s, 2);
    const [r1, r2, r3] = [record(), record(), record()];
    await zombie.process([r1]);
    await owner.process([r1, r2]); // replays r1, then numbers r2 as 2
    await zombie.process([r3]); // stale state: it also writes seq 2, with an older timestamp
    expect(await stored(s.messages)).toEqual([
      [1, r1.message_id],
      [2, r2.message_id],
    ]);
  });

  it('item 9: a resend with a new message_id is a duplicate only with the same body within 24 h; otherwise it is stored', async () => {
    const s = stores();
    const seq = sequencer(s, 1, { recentPerConversation: 1 });
    const original = record({ client_msg_id: 'same', body: 'hello', created_at: 1000 });
    await seq.process([original, ...Array.from({ length: 3000 }, () => record())]);
    const resend = await sequencer(s, 2).process([record({ client_msg_id: 'same', body: 'hello', created_at: 5000 })]);
    expect(resend).toMatchObject({ messages: [], duplicates: 1 });
    const changed = record({ client_msg_id: 'same', body: 'changed', created_at: 6000 });
    const otherBody = await sequencer(s, 3).process([changed]);
    expect(seqs(otherBody.messages)).toEqual([3002]);
    const dayLater = await sequencer(s, 4).process([record({ client_msg_id: 'same', body: 'hello', created_at: 1000 + DEDUP_WINDOW_MS + 1 })]);
    expect(seqs(dayLater.messages)).toEqual([3003]);
    // A replay of the stored different-body message keeps its seq.
    expect(seqs((await sequencer(s, 5).process([changed])).messages)).toEqual([3002]);
  });

  it('item 5: a known message_id with a different sender, client_msg_id or body is dead-lettered, never dropped as a duplicate', async () => {
    const s = stores();
    const seq = sequencer(s);
    const original = record({ body: 'original' });
    await seq.process([original]);
    // Decided in memory (same owner) and from storage (a new owner, nothing in memory).
    for (const judge of [seq, sequencer(s, 2)]) {
      const out = await judge.process([
        { ...original, body: 'minted twice' },
        { ...original, sender_id: 'mallory', client_msg_id: original.client_msg_id, body: 'original' },
      ]);
      expect(out.duplicates).toBe(0);
      expect(out.messages).toEqual([]);
      expect(out.poisoned.map((p) => p.record.body)).toEqual(['minted twice', 'original']);
    }
    expect(await stored(s.messages)).toEqual([[1, original.message_id]]);
  });

  it('drops a second copy of a record it already wrote and delivered', async () => {
    const seq = sequencer(stores());
    const r = record();
    expect((await seq.process([r])).messages).toHaveLength(1);
    const again = await seq.process([r]);
    expect(again.messages).toHaveLength(0);
    expect(again.duplicates).toBe(1);
  });

  it('reports records of unknown conversations as poisoned without blocking others', async () => {
    const seq = sequencer(stores());
    const result = await seq.process([record({ conversation_id: '999' }), record()]);
    expect(result.poisoned).toHaveLength(1);
    expect(seqs(result.messages)).toEqual([1]);
  });

  describe('first sends (the send path proved no earlier send shares the key)', () => {
    const firstSend = (createdAt: number) => record({ first_send: true, created_at: createdAt });
    /** Counts the durable lookups the sequencer makes. */
    const counting = (s: Stores) => {
      let lookups = 0;
      const find = s.sends.find.bind(s.sends);
      s.sends.find = async (cid, keys) => {
        lookups += keys.length;
        return find(cid, keys);
      };
      return () => lookups;
    };

    it('stores a first send created after earlier owners stopped without a durable lookup', async () => {
      const s = stores();
      const lookups = counting(s);
      const now = Date.now();
      const out = await sequencer(s, 1, { earlierOwnersStoppedBy: now - 10_000 }).process([firstSend(now), firstSend(now), record({ created_at: now })]);
      expect(seqs(out.messages)).toEqual([1, 2, 3]);
      expect(lookups()).toBe(1); // only the record not marked first_send
    });

    it('looks up no second copy of a message_id in one call: a retry of a send still in the backlog is decided by its first copy', async () => {
      const s = stores();
      const lookups = counting(s);
      const now = Date.now();
      const original = firstSend(now);
      const retry = { ...original, first_send: undefined };
      const out = await sequencer(s, 1, { earlierOwnersStoppedBy: now - 10_000 }).process([original, retry, retry]);
      expect(lookups()).toBe(0);
      expect(out.duplicates).toBe(2);
      expect(out.messages.map((m) => m.message_id)).toEqual([original.message_id]);
      expect(await stored(s.messages)).toHaveLength(1);
    });

    it('looks up first sends an earlier owner may have stored: a replay keeps its seqs', async () => {
      const s = stores();
      const t0 = Date.now() - 60_000;
      const batch = [firstSend(t0), firstSend(t0 + 1), firstSend(t0 + 2)];
      const first = await sequencer(s, 1, { earlierOwnersStoppedBy: t0 - 10_000 }).process(batch);
      // The next owner could write only after t0 + 30 s: these records predate it.
      const lookups = counting(s);
      const replay = await sequencer(s, 2, { earlierOwnersStoppedBy: t0 + 30_000 }).process(batch);
      expect(lookups()).toBe(3);
      expect(replay.messages.map((m) => [m.message_id, m.seq])).toEqual(first.messages.map((m) => [m.message_id, m.seq]));
      expect(await stored(s.messages)).toHaveLength(3);
    });

    it('looks first sends up again once told they may come again (a batch fetched twice), far beyond its memory', async () => {
      const s = stores();
      const now = Date.now();
      const seq = sequencer(s, 1, { earlierOwnersStoppedBy: now - 10_000, recentPerConversation: 4 });
      const batch = Array.from({ length: 50 }, (_, i) => firstSend(now - 1000 + i));
      await seq.process(batch);
      seq.distrustFirstSendsUntilNow();
      const again = await seq.process(batch);
      // The last 4 are still in memory (copies, dropped); the other 46 are found stored, with their seqs.
      expect(again.duplicates).toBe(4);
      expect(seqs(again.messages)).toEqual(Array.from({ length: 46 }, (_, i) => i + 1));
      expect(await stored(s.messages)).toHaveLength(50);
    });

    it('a retry after a failed write looks first sends up (part of them may be stored)', async () => {
      const s = stores();
      const now = Date.now();
      const seq = sequencer(s, 1, { earlierOwnersStoppedBy: now - 10_000 });
      const batch = [firstSend(now - 5), firstSend(now - 4)];
      const append = s.messages.append.bind(s.messages);
      s.messages.append = async (cid, messages, ts, sends) => {
        await append(cid, messages, ts, sends);
        throw new Error('timeout after the write landed');
      };
      expect((await seq.process(batch)).failed.size).toBe(1);
      s.messages.append = append;
      const retry = await seq.process(batch);
      expect(seqs(retry.messages)).toEqual([1, 2]);
      expect(await stored(s.messages)).toEqual(batch.map((r, i) => [i + 1, r.message_id]));
    });

    it('a first send repeating a recent message (Redis forgot the record, e.g. a failover) is a duplicate', async () => {
      const s = stores();
      const now = Date.now();
      const seq = sequencer(s, 1, { earlierOwnersStoppedBy: now - 10_000 });
      const original = firstSend(now);
      await seq.process([original]);
      const resend = await seq.process([{ ...original, message_id: String(nextId++), created_at: now + 5 }]);
      expect(resend.duplicates).toBe(1);
      expect(await stored(s.messages)).toEqual([[1, original.message_id]]);
    });
  });
});
