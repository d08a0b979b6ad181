import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Errors } from '@chat/protocol';
import type { InternalSendRequest, MessageRecord } from '@chat/protocol/internal';
import { allCommitted, internalSend, storedRows } from './support/sequencer-probe.js';
import { startSystem, waitFor, type TestSystem } from './support/system.js';
import { RedisKeys } from '@chat/server/redis';

let sys: TestSystem;
const uid = (name: string) => `${name}-${Math.random().toString(36).slice(2, 8)}`;

beforeAll(async () => {
  sys = await startSystem(0);
}, 180_000);

afterAll(async () => {
  await sys?.close();
});

async function group(owner: string, other: string): Promise<string> {
  const res = await sys.rest<{ conversation: { conversation_id: string } }>(owner, 'POST', '/v1/conversations', {
    kind: 'group',
    title: 'dedup',
    member_ids: [owner, other],
  });
  return res.body.conversation.conversation_id;
}

async function sendOne(req: InternalSendRequest) {
  const [result] = await internalSend(sys, [req]);
  return result!;
}

/** What a Redis restart without persistence does to the idempotency records of this deployment. */
async function loseIdempotencyRecords(): Promise<void> {
  const keys = await sys.redis.keys(`${sys.env.REDIS_KEY_PREFIX}idem:*`);
  if (keys.length > 0) await sys.redis.del(...keys);
}

/** Produces a record straight to Kafka, as a send path would after minting a new message_id. */
async function produceRaw(record: MessageRecord): Promise<void> {
  const producer = sys.kafka.producer();
  await producer.connect();
  await producer.send({ topic: sys.topic, messages: [{ key: record.conversation_id, value: JSON.stringify(record) }] });
  await producer.disconnect();
}

/** The chat.messages records of these message_ids, as the sequencer reads them. */
async function recordsOf(messageIds: string[]): Promise<Map<string, MessageRecord>> {
  const consumer = sys.kafka.consumer({ groupId: `first-send-probe-${uid('g')}` });
  const found = new Map<string, MessageRecord>();
  await consumer.connect();
  await consumer.subscribe({ topic: sys.topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const r = JSON.parse(message.value?.toString() ?? '{}') as MessageRecord;
      if (messageIds.includes(r.message_id)) found.set(r.message_id, r);
    },
  });
  await waitFor(() => found.size === messageIds.length, 30_000, 'records in Kafka');
  await consumer.disconnect();
  return found;
}

const sequenced = () => waitFor(() => allCommitted(sys), 60_000, 'the sequencer to commit everything');

describe('durable deduplication (G5)', () => {
  it('item 9: a resend after more than 2,048 newer messages is one message with the same message_id', async () => {
    const [alice, bob] = [uid('alice'), uid('bob')];
    const conv = await group(alice, bob);
    const first = await sendOne({ user_id: alice, conversation_id: conv, client_msg_id: 'orig', body: 'hello' });
    expect('ok' in first).toBe(true);
    const messageId = 'ok' in first ? first.ok.message_id : '';
    const newer = await internalSend(
      sys,
      Array.from({ length: 2100 }, (_, i) => ({ user_id: bob, conversation_id: conv, client_msg_id: `n${i}`, body: `n${i}` })),
    );
    expect(newer.every((r) => 'ok' in r)).toBe(true);
    await sequenced();

    const resend = await sendOne({ user_id: alice, conversation_id: conv, client_msg_id: 'orig', body: 'hello' });
    expect(resend).toEqual({ ok: { conversation_id: conv, client_msg_id: 'orig', message_id: messageId, duplicate: true } });
    // A copy that got a new message_id (a send path that had lost the Redis record) is the same message too.
    await produceRaw({
      v: 1,
      type: 'message',
      conversation_id: conv,
      message_id: String(BigInt(messageId) + 1n),
      sender_id: alice,
      client_msg_id: 'orig',
      body: 'hello',
      created_at: Date.now(),
    });
    await sequenced();
    const rows = await storedRows(sys, conv);
    expect(rows).toHaveLength(2101);
    expect(rows.filter((r) => r.client_msg_id === 'orig').map((r) => [r.seq, r.message_id])).toEqual([[1, messageId]]);
  }, 180_000);

  it('item 9: a resend after Redis lost the idempotency record is stored once and acked with the original message_id', async () => {
    const [alice, bob] = [uid('alice'), uid('bob')];
    const conv = await group(alice, bob);
    const first = await sendOne({ user_id: alice, conversation_id: conv, client_msg_id: 'r1', body: 'hi' });
    const messageId = 'ok' in first ? first.ok.message_id : '';
    await sequenced();
    await loseIdempotencyRecords();
    const resend = await sendOne({ user_id: alice, conversation_id: conv, client_msg_id: 'r1', body: 'hi' });
    expect(resend).toEqual({ ok: { conversation_id: conv, client_msg_id: 'r1', message_id: messageId, duplicate: true } });
    // Redis has the record again: the next resend is answered from it.
    expect(await sys.redis.keys(new RedisKeys(sys.env.REDIS_KEY_PREFIX!).idempotencyRecord(alice, 'r1'))).toHaveLength(1);
    await sequenced();
    expect((await storedRows(sys, conv)).map((r) => r.message_id)).toEqual([messageId]);
  });

  it('item 9: a client_msg_id reused with a different body is refused with 4012, also after Redis lost the record, and never dropped silently', async () => {
    const [alice, bob] = [uid('alice'), uid('bob')];
    const conv = await group(alice, bob);
    const first = await sendOne({ user_id: alice, conversation_id: conv, client_msg_id: 'q', body: 'one' });
    expect('ok' in first).toBe(true);
    await sequenced();
    const reuse = { user_id: alice, conversation_id: conv, client_msg_id: 'q', body: 'two' };
    expect(await sendOne(reuse)).toMatchObject({ error: { code: Errors.CLIENT_MSG_ID_REUSED.code } });
    await loseIdempotencyRecords();
    expect(await sendOne(reuse)).toMatchObject({ error: { code: Errors.CLIENT_MSG_ID_REUSED.code } });
    // Had a send path acked it anyway (e.g. produced before the original was stored), the sequencer
    // stores it as the different message it is: an acked message is never dropped for its client_msg_id.
    const otherId = '9000000000000000001';
    await produceRaw({
      v: 1,
      type: 'message',
      conversation_id: conv,
      message_id: otherId,
      sender_id: alice,
      client_msg_id: 'q',
      body: 'two',
      created_at: Date.now(),
    });
    await sequenced();
    expect((await storedRows(sys, conv)).map((r) => [r.seq, r.body])).toEqual([
      [1, 'one'],
      [2, 'two'],
    ]);
  });

  it("item 9: a send is marked first_send (no durable lookup) only while Redis vouches for all of its sender's records in the window", async () => {
    const [alice, bob] = [uid('alice'), uid('bob')];
    const conv = await group(alice, bob);
    const idOf = (r: Awaited<ReturnType<typeof sendOne>>) => ('ok' in r ? r.ok.message_id : '');
    const before = idOf(await sendOne({ user_id: alice, conversation_id: conv, client_msg_id: 'a1', body: 'one' }));
    await loseIdempotencyRecords();
    // alice sent today (a durable row says so): Redis's empty record set proves nothing for her.
    const afterLoss = idOf(await sendOne({ user_id: alice, conversation_id: conv, client_msg_id: 'a2', body: 'two' }));
    const stillUnsure = idOf(await sendOne({ user_id: alice, conversation_id: conv, client_msg_id: 'a3', body: 'three' }));
    // bob never sent: nothing can be lost for him.
    const newcomer = idOf(await sendOne({ user_id: bob, conversation_id: conv, client_msg_id: 'b1', body: 'hi' }));
    const records = await recordsOf([before, afterLoss, stillUnsure, newcomer]);
    expect([before, afterLoss, stillUnsure, newcomer].map((id) => records.get(id)?.first_send === true)).toEqual([true, false, false, true]);
    await sequenced();
    expect((await storedRows(sys, conv)).map((r) => r.client_msg_id)).toEqual(['a1', 'a2', 'a3', 'b1']);
  });
});
