import type { Consumer, Producer } from 'kafkajs';
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
});
