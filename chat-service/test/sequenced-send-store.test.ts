import { randomInt } from 'node:crypto';
import { loadConfig } from '@chat/server/config';
import { createCassandra, type CassandraClient } from '@chat/server/clients';
import { createLogger } from '@chat/server/logger';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CassandraSequencedSendStore } from '../src/store/cassandra-sequenced-send-store.js';
import { CoalescingBatcher } from '../src/store/coalescing-batcher.js';
import type { SequencedSend } from '../src/store/sequenced-send-store.js';

const DAY = 24 * 3600 * 1000;
let db: CassandraClient;
let store: CassandraSequencedSendStore;

beforeAll(async () => {
  const config = loadConfig(process.env);
  db = createCassandra(
    { contactPoints: config.CASSANDRA_CONTACT_POINTS, localDataCenter: config.CASSANDRA_LOCAL_DC, keyspace: config.CASSANDRA_KEYSPACE },
    createLogger('test', 'warn'),
  );
  await db.connect();
  store = new CassandraSequencedSendStore(db, new CoalescingBatcher(db));
});

afterAll(async () => {
  await db?.shutdown();
});

const conversation = () => String(randomInt(1, 2 ** 47));
const send = (conversationId: string, seq: number, createdAt: number, over: Partial<SequencedSend> = {}): SequencedSend => ({
  conversation_id: conversationId,
  sender_id: 'alice',
  client_msg_id: `c${seq}`,
  message_id: String(1_000_000 + seq),
  seq,
  body_sha256: `h${seq}`,
  created_at: createdAt,
  ...over,
});

describe('durable dedup rows, one partition per conversation and day', () => {
  it("finds a key's rows across midnight within G5's window, and every row of a chunk written as one call", async () => {
    const cid = conversation();
    const midnight = Math.floor(Date.now() / DAY) * DAY;
    const beforeMidnight = midnight - 60_000;
    const rows = [send(cid, 1, beforeMidnight), send(cid, 2, beforeMidnight + 1), send(cid, 3, midnight + 5_000)];
    // A resend of c1 after midnight under a new message_id (Redis had lost the record).
    const resend = send(cid, 4, midnight + 3_600_000, { client_msg_id: 'c1', message_id: '2000001', body_sha256: 'h1' });
    await store.record([...rows, resend], 1n);

    const found = await store.find(cid, [
      { sender_id: 'alice', client_msg_id: 'c1', created_at: midnight + 20 * 3_600_000 },
      { sender_id: 'alice', client_msg_id: 'c3', created_at: beforeMidnight },
      { sender_id: 'alice', client_msg_id: 'never', created_at: midnight },
    ]);
    expect(
      found
        .get('alice\nc1')
        ?.map((r) => r.message_id)
        .sort(),
    ).toEqual(['1000001', '2000001']);
    expect(found.get('alice\nc3')).toEqual([{ ...rows[2], seq: 3 }]);
    expect(found.has('alice\nnever')).toBe(false);
  });

  it("a replayed record finds its own row whatever day it is replayed on (rows kept 8 days, days looked up around the record's created_at)", async () => {
    const cid = conversation();
    const sixDaysAgo = Date.now() - 6 * DAY;
    await store.record([send(cid, 7, sixDaysAgo)], 1n);
    const found = await store.find(cid, [{ sender_id: 'alice', client_msg_id: 'c7', created_at: sixDaysAgo }]);
    expect(found.get('alice\nc7')?.[0]).toMatchObject({ message_id: '1000007', seq: 7, created_at: sixDaysAgo });
  });

  it("keeps other conversations' rows apart", async () => {
    const [a, b] = [conversation(), conversation()];
    await store.record([send(a, 1, Date.now())], 1n);
    expect((await store.find(b, [{ sender_id: 'alice', client_msg_id: 'c1', created_at: Date.now() }])).size).toBe(0);
  });
});
