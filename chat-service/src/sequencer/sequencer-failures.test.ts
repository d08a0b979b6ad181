import type { Consumer, EachBatchPayload, KafkaMessage, Producer } from 'kafkajs';
import type { ChatMessage } from '@chat/protocol';
import type { MessageRecord } from '@chat/protocol/internal';
import { createLogger } from '@chat/server/logger';
import { describe, expect, it } from 'vitest';
import { MemoryMessageStore } from '../store/memory-message-store.js';
import type { SequencedSend } from '../store/sequenced-send-store.js';
import { testTimestamps } from './test-timestamps.js';
import { MessageConsumer } from './message-consumer.js';
import { OwnershipLostError, Sequencer } from './sequencer.js';

const A = '2001';
const B = '2002';
const epochOf = async () => 'e1';
let nextId = 1;
const record = (conversation_id: string): MessageRecord => {
  const id = String(nextId++);
  return { v: 1, type: 'message', conversation_id, message_id: id, sender_id: 'alice', client_msg_id: `c${id}`, body: `hi ${id}`, created_at: 1 };
};

/** A message store whose appends for chosen conversations fail or stall, on demand. */
class FaultyStore extends MemoryMessageStore {
  failing = new Set<string>();
  stalls = new Map<string, Promise<void>>();
  override async append(cid: string, messages: ChatMessage[], ts: bigint, sends?: readonly SequencedSend[]): Promise<void> {
    await this.stalls.get(cid);
    if (this.failing.has(cid)) throw new Error(`storage down for ${cid}`);
    return super.append(cid, messages, ts, sends);
  }
}

const make = (store: FaultyStore) => new Sequencer({ messages: store, sends: store.sends, epochOf, timestamp: testTimestamps(1) });
const seqsOf = async (store: MemoryMessageStore, cid: string) => (await store.readAfter(cid, 0, 1e9, 1e9)).map((m) => m.seq);
const batchOf = (records: MessageRecord[], firstOffset: number) =>
  records.map(
    (r, i) => ({ offset: String(firstOffset + i), value: Buffer.from(JSON.stringify(r)), key: Buffer.from(r.conversation_id) }) as unknown as KafkaMessage,
  );
/** One fetch batch of partition 0 of topic t; commits are collected in `commits`. */
const payload = (messages: KafkaMessage[], commits: unknown[] = []) =>
  ({
    batch: { topic: 't', partition: 0, messages },
    resolveOffset: () => undefined,
    commitOffsetsIfNecessary: async (offsets?: unknown) => void commits.push(offsets),
    heartbeat: async () => undefined,
    isRunning: () => true,
    isStale: () => false,
  }) as unknown as EachBatchPayload;

describe('Sequencer with a failing conversation', () => {
  it("item 4: a failing conversation does not take another one's stored messages out of the result", async () => {
    const store = new FaultyStore();
    store.failing.add(A);
    let release!: () => void;
    store.stalls.set(B, new Promise((r) => (release = r)));
    const seq = make(store);
    const pending = seq.process([record(A), record(B), record(B)]);
    // A fails at once; B is still writing. The call must wait for B and report what B stored.
    setTimeout(() => release(), 50);
    const out = await pending;
    expect(out.messages.map((m) => [m.conversation_id, m.seq])).toEqual([
      [B, 1],
      [B, 2],
    ]);
    expect([...out.failed.keys()]).toEqual([A]);
    expect(await seqsOf(store, B)).toEqual([1, 2]);
  });

  it('keeps the state when the write timestamp is refused (the lease wants a fresh confirmation): nothing was written, so the retry reads nothing again', async () => {
    const store = new FaultyStore();
    let lastSeqReads = 0;
    const lastSeq = store.lastSeq.bind(store);
    store.lastSeq = async (cid) => {
      lastSeqReads++;
      return lastSeq(cid);
    };
    const timestamps = testTimestamps(1);
    let refuse = true;
    const timestamp = () => {
      if (refuse) throw new OwnershipLostError('partition lease not confirmed recently enough to write');
      return timestamps();
    };
    const seq = new Sequencer({ messages: store, sends: store.sends, epochOf, timestamp });
    const chunk = [record(A), record(A)];
    expect((await seq.process(chunk)).failed.get(A)).toBeInstanceOf(OwnershipLostError);
    refuse = false;
    const out = await seq.process(chunk);
    expect(out.messages.map((m) => m.seq)).toEqual([1, 2]);
    expect(lastSeqReads).toBe(1);
  });

  it('item 4: a retry never overlaps an attempt still writing, so no seq is skipped or given twice', async () => {
    const store = new FaultyStore();
    let release!: () => void;
    store.stalls.set(A, new Promise((r) => (release = r)));
    const seq = make(store);
    const first = [record(A), record(A)];
    const second = [record(A), record(A), record(A)];
    const p1 = seq.process(first);
    const p2 = seq.process([...first, ...second]); // an overlapping retry of the same records plus newer ones
    setTimeout(() => release(), 50);
    const [r1, r2] = await Promise.all([p1, p2]);
    expect(r1.messages.map((m) => m.seq)).toEqual([1, 2]);
    expect(r2.messages.map((m) => m.seq)).toEqual([3, 4, 5]);
    expect(await seqsOf(store, A)).toEqual([1, 2, 3, 4, 5]);
  });

  it('item 4: after a failed write the next attempt continues at the highest stored seq (no permanent gap)', async () => {
    const store = new FaultyStore();
    const seq = make(store);
    await seq.process([record(A)]);
    store.failing.add(A);
    const batch = [record(A), record(A)];
    expect((await seq.process(batch)).failed.has(A)).toBe(true);
    store.failing.delete(A);
    expect((await seq.process(batch)).messages.map((m) => m.seq)).toEqual([2, 3]);
    expect((await seq.process([record(A)])).messages.map((m) => m.seq)).toEqual([4]);
    expect(await seqsOf(store, A)).toEqual([1, 2, 3, 4]);
  });
});

describe('MessageConsumer with a failing conversation', () => {
  it('item 4: delivers what was stored at once, retries only the failed conversation, then commits the chunk', async () => {
    const store = new FaultyStore();
    store.failing.add(A);
    const delivered: ChatMessage[][] = [];
    const commits: unknown[] = [];
    const dlq: unknown[] = [];
    const consumer = new MessageConsumer(
      {} as Consumer,
      { send: async (m: unknown) => void dlq.push(m) } as unknown as Producer,
      () => make(store),
      { acquire: async () => 1, generation: async () => 1 },
      {
        deliver: async (messages) => {
          delivered.push(messages);
          store.failing.delete(A); // storage comes back after the first attempt
        },
        publish: async () => undefined,
      },
      createLogger('test', 'silent'),
      { markSequenced: () => undefined, markDuplicates: () => undefined, markDeadLettered: () => undefined, markRetry: () => undefined },
      { topic: 't', dlqTopic: 't.dlq', owner: 'me', maxRetries: 3, leaseClock: { validityMs: 1000, maxClockSkewMs: 10 } },
    );
    const records = [record(A), record(B), record(A), record(B)];
    const messages = records.map(
      (r, i) => ({ offset: String(10 + i), value: Buffer.from(JSON.stringify(r)), key: Buffer.from(r.conversation_id) }) as unknown as KafkaMessage,
    );
    const resolved: string[] = [];
    await consumer.handleBatch({
      batch: { topic: 't', partition: 0, messages },
      resolveOffset: (o: string) => void resolved.push(o),
      commitOffsetsIfNecessary: async (offsets?: unknown) => void commits.push(offsets),
      heartbeat: async () => undefined,
      isRunning: () => true,
      isStale: () => false,
    } as unknown as EachBatchPayload);
    expect(delivered.map((d) => d.map((m) => [m.conversation_id, m.seq]))).toEqual([
      [
        [B, 1],
        [B, 2],
      ],
      [
        [A, 1],
        [A, 2],
      ],
    ]);
    expect(resolved).toEqual(['13']);
    expect(commits).toEqual([{ topics: [{ topic: 't', partitions: [{ partition: 0, offset: '14' }] }] }]);
    expect(dlq).toEqual([]);
  });
});

describe('MessageConsumer under slow storage', () => {
  it('item 16: a chunk slower than the lease validity still writes on its first attempt: the lease is confirmed again while it works', async () => {
    const store = new FaultyStore();
    let attempts = 0;
    const slowEpoch = async () => {
      await new Promise((r) => setTimeout(r, 300)); // storage slower than the 100 ms validity
      return 'e1';
    };
    const commits: unknown[] = [];
    const consumer = new MessageConsumer(
      {} as Consumer,
      {} as Producer,
      (clock) => {
        const seq = new Sequencer({ messages: store, sends: store.sends, epochOf: slowEpoch, timestamp: () => clock.next() });
        const process = seq.process.bind(seq);
        seq.process = (records) => {
          attempts++;
          return process(records);
        };
        return seq;
      },
      { acquire: async () => 1, generation: async () => 1 },
      { deliver: async () => undefined, publish: async () => undefined },
      createLogger('test', 'silent'),
      { markSequenced: () => undefined, markDuplicates: () => undefined, markDeadLettered: () => undefined, markRetry: () => undefined },
      { topic: 't', dlqTopic: 't.dlq', owner: 'me', maxRetries: 3, leaseCheckMs: 30, leaseClock: { validityMs: 100, maxClockSkewMs: 10 } },
    );
    await consumer.handleBatch(payload(batchOf([record(A), record(B)], 0), commits));
    expect(attempts).toBe(1);
    expect(commits).toHaveLength(1);
    expect([...(await seqsOf(store, A)), ...(await seqsOf(store, B))]).toEqual([1, 1]);
  });
});

describe('MessageConsumer delivering', () => {
  it('delivers a conversation as soon as it is stored, before a slower conversation of the same chunk is written', async () => {
    const store = new FaultyStore();
    let release!: () => void;
    store.stalls.set(B, new Promise((r) => (release = r)));
    const delivered: [string, number][][] = [];
    const consumer = new MessageConsumer(
      {} as Consumer,
      {} as Producer,
      () => make(store),
      { acquire: async () => 1, generation: async () => 1 },
      {
        deliver: async (messages) => {
          delivered.push(messages.map((m) => [m.conversation_id, m.seq]));
          release(); // B's write finishes only once A was delivered
        },
        publish: async () => undefined,
      },
      createLogger('test', 'silent'),
      { markSequenced: () => undefined, markDuplicates: () => undefined, markDeadLettered: () => undefined, markRetry: () => undefined },
      { topic: 't', dlqTopic: 't.dlq', owner: 'me', leaseClock: { validityMs: 1000, maxClockSkewMs: 10 } },
    );
    await consumer.handleBatch(payload(batchOf([record(A), record(B), record(A)], 0)));
    expect(delivered).toEqual([
      [
        [A, 1],
        [A, 2],
      ],
      [[B, 1]],
    ]);
  });
});

describe('MessageConsumer publishing to the sequenced stream', () => {
  it('publishes every stored message in seq order before committing, and publishes them again after a failed publish', async () => {
    const store = new FaultyStore();
    const attempts: ChatMessage[][] = [];
    const events: string[] = [];
    let failNext = 1;
    const consumer = new MessageConsumer(
      {} as Consumer,
      {} as Producer,
      () => make(store),
      { acquire: async () => 1, generation: async () => 1 },
      {
        deliver: async () => undefined,
        publish: async (messages) => {
          attempts.push(messages);
          events.push('publish');
          if (failNext-- > 0) throw new Error('broker unavailable');
        },
      },
      createLogger('test', 'silent'),
      { markSequenced: () => undefined, markDuplicates: () => undefined, markDeadLettered: () => undefined, markRetry: () => undefined },
      { topic: 't', dlqTopic: 't.dlq', owner: 'me', maxRetries: 3, leaseClock: { validityMs: 1000, maxClockSkewMs: 10 } },
    );
    const commits: unknown[] = [];
    await consumer.handleBatch(
      payload(batchOf([record(A), record(B), record(A), record(A)], 20), {
        push: (c: unknown) => (events.push('commit'), commits.push(c)),
      } as unknown as unknown[]),
    );
    const seqs = (ms: ChatMessage[]) => ms.map((m) => `${m.conversation_id}:${m.seq}`);
    // The failed publish is repeated with the same messages, found again in storage.
    expect(attempts).toHaveLength(2);
    expect(seqs(attempts[1]!).sort()).toEqual(seqs(attempts[0]!).sort());
    expect(seqs(attempts[1]!.filter((m) => m.conversation_id === A))).toEqual([`${A}:1`, `${A}:2`, `${A}:3`]);
    expect(seqs(attempts[1]!.filter((m) => m.conversation_id === B))).toEqual([`${B}:1`]);
    expect(events).toEqual(['publish', 'publish', 'commit']);
    expect(await seqsOf(store, A)).toEqual([1, 2, 3]);
  });

  it('commits nothing while publishing keeps failing', async () => {
    const store = new FaultyStore();
    const consumer = new MessageConsumer(
      {} as Consumer,
      {} as Producer,
      () => make(store),
      { acquire: async () => 1, generation: async () => 1 },
      { deliver: async () => undefined, publish: async () => Promise.reject(new Error('broker unavailable')) },
      createLogger('test', 'silent'),
      { markSequenced: () => undefined, markDuplicates: () => undefined, markDeadLettered: () => undefined, markRetry: () => undefined },
      { topic: 't', dlqTopic: 't.dlq', owner: 'me', maxRetries: 2, leaseClock: { validityMs: 1000, maxClockSkewMs: 10 } },
    );
    const commits: unknown[] = [];
    await expect(consumer.handleBatch(payload(batchOf([record(A)], 40), commits))).rejects.toThrow(/broker unavailable/);
    expect(commits).toEqual([]);
  });
});
