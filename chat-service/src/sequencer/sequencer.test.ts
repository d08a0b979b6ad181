import type { MessageRecord } from '@chat/shared';
import { describe, expect, it } from 'vitest';
import { MemoryMessageStore } from '../store/memory-message-store.js';
import { Sequencer } from './sequencer.js';

const CONV = '1001';
const epochOf = async (cid: string) => (cid === CONV ? 'e1' : null);

let nextId = 1;
function record(overrides: Partial<MessageRecord> = {}): MessageRecord {
  const id = String(nextId++);
  return { v: 1, type: 'message', conversation_id: CONV, message_id: id, sender_id: 'alice', client_msg_id: `c${id}`, body: `hi ${id}`, created_at: 1, ...overrides };
}

describe('Sequencer', () => {
  it('assigns dense seqs in record order across batches', async () => {
    const store = new MemoryMessageStore();
    const seq = new Sequencer(store, epochOf);
    const a = await seq.process([record(), record(), record()]);
    const b = await seq.process([record(), record()]);
    expect([...a.messages, ...b.messages].map((m) => m.seq)).toEqual([1, 2, 3, 4, 5]);
    expect((await store.readAfter(CONV, 0, 100, 100)).map((m) => m.seq)).toEqual([1, 2, 3, 4, 5]);
  });

  it('gives a replayed record the seq it already had, even in a new process', async () => {
    const store = new MemoryMessageStore();
    const batch = [record(), record(), record()];
    const first = await new Sequencer(store, epochOf).process(batch);
    const replay = await new Sequencer(store, epochOf).process([...batch, record()]);
    expect(replay.messages.map((m) => [m.message_id, m.seq])).toEqual([
      ...first.messages.map((m) => [m.message_id, m.seq]),
      [replay.messages[3]!.message_id, 4],
    ]);
  });

  it('re-derives the same seqs after a crash between claim and write', async () => {
    const store = new MemoryMessageStore();
    const original = store.write.bind(store);
    let failOnce = true;
    store.write = async (messages) => {
      if (failOnce) {
        failOnce = false;
        throw new Error('storage down');
      }
      return original(messages);
    };
    const batch = [record(), record()];
    await expect(new Sequencer(store, epochOf).process(batch)).rejects.toThrow(/storage down/);
    const retried = await new Sequencer(store, epochOf).process(batch);
    expect(retried.messages.map((m) => m.seq)).toEqual([1, 2]);
    expect((await store.seqState(CONV)).lastSeq).toBe(2);
  });

  it('never hands out one seq twice when two consumers race on a conversation', async () => {
    const store = new MemoryMessageStore();
    const a = new Sequencer(store, epochOf);
    const b = new Sequencer(store, epochOf);
    await a.process([record()]);
    await b.process([record()]); // b advanced the conversation behind a's back
    const late = await a.process([record()]); // a's cached state is stale: it must lose the claim and reload
    expect(late.messages.map((m) => m.seq)).toEqual([3]);
    expect((await store.readAfter(CONV, 0, 10, 10)).map((m) => m.seq)).toEqual([1, 2, 3]);
  });

  it('drops a resend that got a new message_id for a client_msg_id already sequenced', async () => {
    const store = new MemoryMessageStore();
    const seq = new Sequencer(store, epochOf);
    const original = record({ client_msg_id: 'same' });
    await seq.process([original]);
    const dup = await seq.process([record({ client_msg_id: 'same' })]);
    expect(dup.messages).toEqual([]);
    expect((await store.seqState(CONV)).lastSeq).toBe(1);
  });

  it('reports records of unknown conversations as poisoned without blocking others', async () => {
    const seq = new Sequencer(new MemoryMessageStore(), epochOf);
    const result = await seq.process([record({ conversation_id: '999' }), record()]);
    expect(result.poisoned).toHaveLength(1);
    expect(result.messages.map((m) => m.seq)).toEqual([1]);
  });
});

describe('Sequencer duplicates', () => {
  it('drops a second copy of a record it already wrote and delivered', async () => {
    const seq = new Sequencer(new MemoryMessageStore(), epochOf);
    const r = record();
    expect((await seq.process([r])).messages).toHaveLength(1);
    expect((await seq.process([r])).messages).toHaveLength(0);
  });
});
