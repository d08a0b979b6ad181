import type { MessageRecord } from '@chat/shared';
import { describe, expect, it } from 'vitest';
import { MemoryMessageStore } from '../store/memory-message-store.js';
import { BUCKET_SIZE } from '../store/message-store.js';
import { Sequencer } from './sequencer.js';

const CONV = '1001';
const epochOf = async (cid: string) => (cid === CONV ? 'e1' : null);

let nextId = 1;
function record(overrides: Partial<MessageRecord> = {}): MessageRecord {
  const id = String(nextId++);
  return { v: 1, type: 'message', conversation_id: CONV, message_id: id, sender_id: 'alice', client_msg_id: `c${id}`, body: `hi ${id}`, created_at: 1, ...overrides };
}

const stored = async (store: MemoryMessageStore) => (await store.readAfter(CONV, 0, 1e9, 1e9)).map((m) => [m.seq, m.message_id]);

describe('Sequencer', () => {
  it('assigns dense seqs in record order across batches', async () => {
    const store = new MemoryMessageStore();
    const seq = new Sequencer(store, epochOf, 1);
    const a = await seq.process([record(), record(), record()]);
    const b = await seq.process([record(), record()]);
    expect([...a.messages, ...b.messages].map((m) => m.seq)).toEqual([1, 2, 3, 4, 5]);
    expect((await stored(store)).map(([s]) => s)).toEqual([1, 2, 3, 4, 5]);
  });

  it('gives a replayed record the seq it already had, under a new owner', async () => {
    const store = new MemoryMessageStore();
    const batch = [record(), record(), record()];
    const first = await new Sequencer(store, epochOf, 1).process(batch);
    const replay = await new Sequencer(store, epochOf, 2).process([...batch, record()]);
    expect(replay.messages.map((m) => [m.message_id, m.seq])).toEqual([
      ...first.messages.map((m) => [m.message_id, m.seq]),
      [replay.messages[3]!.message_id, 4],
    ]);
  });

  it('re-derives the same seqs when a write failed', async () => {
    const store = new MemoryMessageStore();
    const original = store.append.bind(store);
    let failOnce = true;
    store.append = async (cid, messages, ts) => {
      if (failOnce) {
        failOnce = false;
        throw new Error('storage down');
      }
      return original(cid, messages, ts);
    };
    const seq = new Sequencer(store, epochOf, 1);
    const batch = [record(), record()];
    await expect(seq.process(batch)).rejects.toThrow(/storage down/);
    expect((await seq.process(batch)).messages.map((m) => m.seq)).toEqual([1, 2]);
    expect(await store.lastSeq(CONV)).toBe(2);
  });

  it('keeps stored seqs gap-free when a batch crosses a bucket boundary', async () => {
    const store = new MemoryMessageStore();
    const seq = new Sequencer(store, epochOf, 1);
    await seq.process(Array.from({ length: BUCKET_SIZE - 2 }, () => record()));
    const crossing = await seq.process(Array.from({ length: 5 }, () => record()));
    expect(crossing.messages.map((m) => m.seq)).toEqual([BUCKET_SIZE - 1, BUCKET_SIZE, BUCKET_SIZE + 1, BUCKET_SIZE + 2, BUCKET_SIZE + 3]);
    expect(await store.lastSeq(CONV)).toBe(BUCKET_SIZE + 3);
  });

  it('lets a newer owner win over a consumer that lost the partition', async () => {
    const store = new MemoryMessageStore();
    const zombie = new Sequencer(store, epochOf, 1);
    const owner = new Sequencer(store, epochOf, 2);
    const [r1, r2, r3] = [record(), record(), record()];
    await zombie.process([r1]);
    await owner.process([r1, r2]); // replays r1, then numbers r2 as 2
    await zombie.process([r3]); // stale state: it also writes seq 2, with an older timestamp
    expect(await stored(store)).toEqual([
      [1, r1.message_id],
      [2, r2.message_id],
    ]);
  });

  it('drops a resend that got a new message_id for a client_msg_id already sequenced', async () => {
    const store = new MemoryMessageStore();
    const seq = new Sequencer(store, epochOf, 1);
    await seq.process([record({ client_msg_id: 'same' })]);
    const dup = await seq.process([record({ client_msg_id: 'same' })]);
    expect(dup.messages).toEqual([]);
    expect(await store.lastSeq(CONV)).toBe(1);
  });

  it('drops a second copy of a record it already wrote and delivered', async () => {
    const seq = new Sequencer(new MemoryMessageStore(), epochOf, 1);
    const r = record();
    expect((await seq.process([r])).messages).toHaveLength(1);
    expect((await seq.process([r])).messages).toHaveLength(0);
  });

  it('reports records of unknown conversations as poisoned without blocking others', async () => {
    const seq = new Sequencer(new MemoryMessageStore(), epochOf, 1);
    const result = await seq.process([record({ conversation_id: '999' }), record()]);
    expect(result.poisoned).toHaveLength(1);
    expect(result.messages.map((m) => m.seq)).toEqual([1]);
  });
});
