import type { Consumer, EachBatchPayload, KafkaMessage, Producer } from 'kafkajs';
import { createLogger } from '@chat/server/logger';
import { describe, expect, it } from 'vitest';
import { MemoryMessageStore } from '../store/memory-message-store.js';
import { CassandraSequencerLeases } from '../store/sequencer-lease.js';
import type { CassandraClient } from '@chat/server/clients';
import { MessageConsumer } from './message-consumer.js';
import { Sequencer } from './sequencer.js';

const noMetrics = { markSequenced: () => undefined, markDuplicates: () => undefined, markDeadLettered: () => undefined, markRetry: () => undefined };

describe('MessageConsumer leases', () => {
  it('item 16: takes the partition leases when Kafka assigns the partitions, before any batch arrives', async () => {
    const handlers = new Map<string, (e: { payload: { memberAssignment: Record<string, number[]> } }) => void>();
    const fakeConsumer = {
      events: { GROUP_JOIN: 'consumer.group_join' },
      on: (event: string, cb: (e: { payload: { memberAssignment: Record<string, number[]> } }) => void) => void handlers.set(event, cb),
      subscribe: async () => undefined,
      run: async () => undefined,
    } as unknown as Consumer;
    const acquired: number[] = [];
    const consumer = new MessageConsumer(
      fakeConsumer,
      {} as Producer,
      (clock) => {
        const messages = new MemoryMessageStore();
        return new Sequencer({ messages, sends: messages.sends, epochOf: async () => 'e', timestamp: () => clock.next() });
      },
      { acquire: async (_t, p) => (acquired.push(p), 7), generation: async () => 7 },
      { deliver: async () => undefined, publish: async () => undefined },
      createLogger('test', 'silent'),
      noMetrics,
      { topic: 'chat.messages', dlqTopic: 'dlq', owner: 'me', leaseClock: { validityMs: 100, maxClockSkewMs: 10 } },
    );
    await consumer.start();
    handlers.get('consumer.group_join')!({ payload: { memberAssignment: { 'chat.messages': [0, 2], other: [5] } } });
    await new Promise((r) => setTimeout(r, 10));
    expect(acquired.sort()).toEqual([0, 2]);
  });

  it('item 16: backs off with jitter while a lease is contended instead of spinning, and gives up after a bound', async () => {
    const sleeps: number[] = [];
    let casAttempts = 0;
    const db = {
      execute: async (query: string) => {
        if (query.startsWith('SELECT')) return { first: () => ({ generation: { toNumber: () => 3 } }) };
        casAttempts++;
        return { wasApplied: () => false };
      },
    } as unknown as CassandraClient;
    const leases = new CassandraSequencerLeases(db, { maxAttempts: 6, backoffBaseMs: 50, backoffCapMs: 400, sleep: async (ms) => void sleeps.push(ms) });
    await expect(leases.acquire('t', 0, 'me')).rejects.toThrow(/contended/);
    expect(casAttempts).toBe(6);
    expect(sleeps).toHaveLength(5);
    sleeps.forEach((ms, i) => {
      expect(ms).toBeGreaterThanOrEqual(0);
      expect(ms).toBeLessThanOrEqual(Math.min(50 * 2 ** (i + 1), 400));
    });
    expect(new Set(sleeps).size).toBeGreaterThan(1); // jittered
  });

  it("confirms a busy partition's lease ahead of time, off the chunks' path: no chunk waits for that read", async () => {
    let reads = 0;
    let held: Promise<void> | undefined;
    const leases = { acquire: async () => 1, generation: async () => (reads++, await held, 1) };
    const store = new MemoryMessageStore();
    const consumer = new MessageConsumer(
      {} as Consumer,
      {} as Producer,
      (clock) => new Sequencer({ messages: store, sends: store.sends, epochOf: async () => 'e', timestamp: () => clock.next() }),
      leases,
      { deliver: async () => undefined, publish: async () => undefined },
      createLogger('test', 'silent'),
      noMetrics,
      { topic: 't', dlqTopic: 't.dlq', owner: 'me', leaseCheckMs: 500, leaseClock: { validityMs: 2000, maxClockSkewMs: 0 } },
    );
    const chunk = (offset: number) =>
      ({
        batch: { topic: 't', partition: 0, messages: [message(offset)] },
        resolveOffset: () => undefined,
        commitOffsetsIfNecessary: async () => undefined,
        heartbeat: async () => undefined,
        isRunning: () => true,
        isStale: () => false,
      }) as unknown as EachBatchPayload;
    /** 'done', or 'waited' if the chunk is still not through after 250 ms (it waits for the held read). */
    const handled = (offset: number) => Promise.race([consumer.handleBatch(chunk(offset)).then(() => 'done'), sleep(250).then(() => 'waited')]);

    await consumer.handleBatch(chunk(0)); // takes the lease: waits out its validity, then confirms it (one read)
    expect(reads).toBe(1);
    // Each step below has 400 ms of slack for a busy machine's timers.
    await sleep(1100); // 900 ms of validity left: more than leaseCheckMs, less than twice it
    let release!: () => void;
    held = new Promise((r) => (release = r));
    expect(await handled(1)).toBe('done');
    expect(reads).toBe(2); // started, not waited for
    release();
    held = new Promise(() => undefined); // every later read hangs
    await sleep(600); // without that read, less than leaseCheckMs would be left now and the chunk would wait
    expect(await handled(2)).toBe('done');
    expect(reads).toBe(2);
    expect((await store.readAfter('2001', 0, 10, 1e6)).map((m) => m.seq)).toEqual([1, 2, 3]);
  });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
function message(offset: number): KafkaMessage {
  const record = {
    v: 1,
    type: 'message',
    conversation_id: '2001',
    message_id: String(100 + offset),
    sender_id: 'u',
    client_msg_id: `m${offset}`,
    body: 'hi',
    created_at: 1,
  };
  return { offset: String(offset), key: Buffer.from('2001'), value: Buffer.from(JSON.stringify(record)) } as unknown as KafkaMessage;
}
