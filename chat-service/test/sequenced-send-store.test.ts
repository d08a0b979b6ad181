import { randomInt } from 'node:crypto';
import type { ChatMessage } from '@chat/protocol';
import { loadConfig } from '@chat/server/config';
import { createCassandra, type CassandraClient } from '@chat/server/clients';
import { createLogger } from '@chat/server/logger';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CassandraMessageStore } from '../src/store/cassandra-message-store.js';
import { CassandraSequencedSendStore } from '../src/store/cassandra-sequenced-send-store.js';
import { CoalescingBatcher } from '../src/store/coalescing-batcher.js';
import { BUCKET_SIZE } from '../src/store/message-store.js';
import type { SequencedSend } from '../src/store/sequenced-send-store.js';

const HOUR = 3600 * 1000;
const DAY = 24 * HOUR;
let db: CassandraClient;
let messages: CassandraMessageStore;
let store: CassandraSequencedSendStore;

beforeAll(async () => {
  const config = loadConfig(process.env);
  db = createCassandra(
    { contactPoints: config.CASSANDRA_CONTACT_POINTS, localDataCenter: config.CASSANDRA_LOCAL_DC, keyspace: config.CASSANDRA_KEYSPACE },
    createLogger('test', 'warn'),
  );
  await db.connect();
  messages = new CassandraMessageStore(db, new CoalescingBatcher(db), async () => 'e1');
  store = new CassandraSequencedSendStore(db, messages);
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
const messageOf = (s: SequencedSend): ChatMessage => ({
  conversation_id: s.conversation_id,
  message_id: s.message_id,
  seq: s.seq,
  epoch: 'e1',
  sender_id: s.sender_id,
  client_msg_id: s.client_msg_id,
  body: `body ${s.seq}`,
  created_at: s.created_at,
});
/** Stores sends as the sequencer does: the messages with their dedup rows, one append. */
const store_ = (cid: string, sends: SequencedSend[]) => messages.append(cid, sends.map(messageOf), 1n, sends);

describe('durable dedup rows, written with their messages in the message partitions', () => {
  it("finds a key's rows within G5's window across buckets, and misses keys never sent", async () => {
    const cid = conversation();
    const start = Date.now() - 20 * HOUR;
    // Two full buckets and a bit: c1 sits in bucket 0, its resend (Redis had lost the record) in bucket 2.
    const all = Array.from({ length: 2 * BUCKET_SIZE + 10 }, (_, i) => send(cid, i + 1, start + i * 1000));
    const resend = send(cid, all.length + 1, start + 19 * HOUR, { client_msg_id: 'c1', message_id: '2000001', body_sha256: 'h1' });
    await store_(cid, [...all, resend]);

    const found = await store.find(cid, [
      { sender_id: 'alice', client_msg_id: 'c1', created_at: start + 20 * HOUR },
      { sender_id: 'alice', client_msg_id: `c${BUCKET_SIZE + 5}`, created_at: start },
      { sender_id: 'alice', client_msg_id: 'never', created_at: start },
    ]);
    expect(
      found
        .get('alice\nc1')
        ?.map((r) => r.message_id)
        .sort(),
    ).toEqual(['1000001', '2000001']);
    expect(found.get(`alice\nc${BUCKET_SIZE + 5}`)).toEqual([{ ...all[BUCKET_SIZE + 4], seq: BUCKET_SIZE + 5 }]);
    expect(found.has('alice\nnever')).toBe(false);
  });

  it('stops at buckets older than the window: rows from days before it are not read', async () => {
    const cid = conversation();
    const old = Date.now() - 3 * DAY;
    // One message at the start of each bucket: buckets 0-7 three days old, 8-12 an hour old.
    const firstSeqOf = (bucket: number) => Math.max(1, bucket * BUCKET_SIZE);
    const rows = Array.from({ length: 13 }, (_, b) => send(cid, firstSeqOf(b), b < 8 ? old + b : Date.now() - HOUR + b));
    await store_(cid, rows);
    const found = await store.find(cid, [
      { sender_id: 'alice', client_msg_id: 'c1', created_at: Date.now() },
      { sender_id: 'alice', client_msg_id: `c${firstSeqOf(8)}`, created_at: Date.now() },
    ]);
    // Newest first: 12, then 11-8, where bucket 8 starts before the window.
    expect(found.has('alice\nc1')).toBe(false);
    expect(found.get(`alice\nc${firstSeqOf(8)}`)?.[0]?.seq).toBe(firstSeqOf(8));
  });

  it("a replayed record finds its own row whatever day it is replayed on (rows kept 8 days, buckets read back to the record's created_at)", async () => {
    const cid = conversation();
    const sixDaysAgo = Date.now() - 6 * DAY;
    await store_(cid, [send(cid, 1, sixDaysAgo), send(cid, 2, Date.now())]);
    const found = await store.find(cid, [{ sender_id: 'alice', client_msg_id: 'c1', created_at: sixDaysAgo }]);
    expect(found.get('alice\nc1')?.[0]).toMatchObject({ message_id: '1000001', seq: 1, created_at: sixDaysAgo });
  });

  it('item 3: a dedup row is written with its message: same partition key (one mutation), same write timestamp', async () => {
    const cid = conversation();
    await store_(cid, [send(cid, 1, Date.now())]);
    const rows = await db.execute('SELECT message_id, writetime(seq) AS w FROM sequenced_sends_by_bucket WHERE conversation_id = ? AND bucket = 0', [cid], {
      prepare: true,
    });
    const msgs = await db.execute('SELECT message_id, writetime(body) AS w FROM messages WHERE conversation_id = ? AND bucket = 0', [cid], { prepare: true });
    expect(rows.rows.map((r) => String(r.message_id))).toEqual(['1000001']);
    expect(String(rows.rows[0]!.w)).toBe(String(msgs.rows[0]!.w));
  });

  it("keeps other conversations' rows apart", async () => {
    const [a, b] = [conversation(), conversation()];
    await store_(a, [send(a, 1, Date.now())]);
    expect((await store.find(b, [{ sender_id: 'alice', client_msg_id: 'c1', created_at: Date.now() }])).size).toBe(0);
  });
});
