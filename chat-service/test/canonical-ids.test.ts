import cassandra from 'cassandra-driver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Errors, type AckFrame, type ErrorFrame, type SyncResultFrame } from '@chat/protocol';
import { INTERNAL_PATHS, INTERNAL_TOKEN_HEADER } from '@chat/protocol/internal';
import { dlqTopicOf } from '@chat/server/kafka-topics';
import { RawClient } from './support/raw-client.js';
import { startSystem, waitFor, type TestSystem } from './support/system.js';

let sys: TestSystem;
const clients: RawClient[] = [];
const uid = (name: string) => `${name}-${Math.random().toString(36).slice(2, 8)}`;

async function connect(gateway: number, userId: string): Promise<RawClient> {
  const c = await RawClient.connect(sys.gateways[gateway]!.url, sys.token(userId));
  clients.push(c);
  return c;
}

async function storedRows(conversationId: string): Promise<number> {
  let total = 0;
  for (const bucket of [0, 1]) {
    const rs = await sys.cassandra.execute(
      'SELECT count(*) AS n FROM messages WHERE conversation_id = ? AND bucket = ?',
      [cassandra.types.Long.fromString(conversationId), bucket],
      { prepare: true },
    );
    total += Number(rs.first()?.n ?? 0);
  }
  return total;
}

type Page = { messages: { message_id: string; seq: number; sender_id: string; body: string }[] };

beforeAll(async () => {
  sys = await startSystem(2);
}, 180_000);

afterAll(async () => {
  for (const c of clients) c.close();
  await sys?.close();
});

describe('conversation ids are canonical at every boundary', () => {
  it('item 2: sends, history and internal calls naming "0"+id or id+2^64 are refused and never touch the real conversation', async () => {
    const [alice, bob] = [uid('alice'), uid('bob')];
    const created = await sys.rest<{ conversation: { conversation_id: string } }>(alice, 'POST', '/v1/conversations', {
      kind: 'group',
      title: 'ids',
      member_ids: [bob],
    });
    expect(created.status).toBe(201);
    const id = created.body.conversation.conversation_id;
    const aliases = [`0${id}`, `00${id}`, (BigInt(id) + (1n << 64n)).toString()];

    // Bob's 30 acked messages are the ones that must survive.
    const bobWs = await connect(1, bob);
    const acks: AckFrame[] = [];
    for (let i = 0; i < 30; i++) acks.push(await bobWs.request<AckFrame>({ type: 'send', conversation_id: id, client_msg_id: `b${i}`, body: `bob ${i}` }));
    expect(acks.every((a) => a.type === 'ack')).toBe(true);
    await waitFor(
      async () => (await sys.rest<Page>(bob, 'GET', `/v1/conversations/${id}/messages?limit=100`)).body.messages.length === 30,
      30_000,
      "bob's messages stored",
    );

    // WebSocket: a member sending to alias ids is refused with invalid_shape, nothing acked.
    // A connection per alias: 20 invalid frames in a minute would close it (protocol_violation).
    for (const alias of aliases) {
      const aliceWs = await connect(0, alice);
      for (let i = 0; i < 10; i++) {
        const reply = await aliceWs.request<ErrorFrame>({ type: 'send', conversation_id: alias, client_msg_id: `a-${alias}-${i}`, body: `alias ${i}` });
        expect(reply.type, `send to ${alias}`).toBe('error');
        expect(reply.code).toBe(Errors.INVALID_SHAPE.code);
      }
      const history = await aliceWs.request<ErrorFrame>({ type: 'history', conversation_id: alias });
      expect(history.code).toBe(Errors.INVALID_SHAPE.code);
      const sync = await aliceWs.request<ErrorFrame>({ type: 'sync', positions: [{ conversation_id: alias, seq: 0 }] });
      expect(sync.code).toBe(Errors.INVALID_SHAPE.code);
    }

    // REST: alias ids name no conversation.
    for (const alias of aliases) {
      expect((await sys.rest(alice, 'GET', `/v1/conversations/${alias}/messages`)).status).toBe(404);
      expect((await sys.rest(alice, 'GET', `/v1/conversations/${alias}`)).status).toBe(404);
      expect((await sys.rest(alice, 'POST', `/v1/conversations/${alias}/members`, { user_ids: ['mallory'] })).status).toBe(404);
    }

    // Internal API (what a gateway calls): alias ids are invalid_shape, per item and per request.
    const internal = async (path: string, body: unknown) => {
      const res = await fetch(`${sys.chatInternalUrl}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', [INTERNAL_TOKEN_HEADER]: sys.config.INTERNAL_API_TOKEN },
        body: JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    const batch = await internal(INTERNAL_PATHS.sendBatch, {
      requests: aliases.map((alias, i) => ({ user_id: alice, conversation_id: alias, client_msg_id: `int-${i}`, body: 'x' })),
    });
    expect(batch.status).toBe(200);
    expect((batch.body.results as { error?: { code: number } }[]).map((r) => r.error?.code)).toEqual(aliases.map(() => Errors.INVALID_SHAPE.code));
    expect((await internal(INTERNAL_PATHS.history, { user_id: alice, conversation_id: aliases[0] })).status).toBe(400);
    const syncs = await internal(INTERNAL_PATHS.syncBatch, { requests: [{ user_id: alice, positions: [{ conversation_id: aliases[2], seq: 0 }] }] });
    expect((syncs.body.results as { error?: { code: number } }[]).map((r) => r.error?.code)).toEqual([Errors.INVALID_SHAPE.code]);

    // Kafka: records that name an alias (written by anything but our send path) go to the DLQ, never to storage.
    const producer = sys.kafka.producer();
    await producer.connect();
    const forged = aliases.map((alias, i) => ({
      key: alias,
      value: JSON.stringify({
        v: 1,
        type: 'message',
        conversation_id: alias,
        message_id: String(BigInt(acks[i]!.message_id) + 1n),
        sender_id: alice,
        client_msg_id: `k${i}`,
        body: 'forged',
        created_at: Date.now(),
      }),
    }));
    forged.push({
      key: id,
      value: JSON.stringify({
        v: 1,
        type: 'message',
        conversation_id: id,
        message_id: `0${acks[0]!.message_id}`,
        sender_id: alice,
        client_msg_id: 'k-mid',
        body: 'forged',
        created_at: Date.now(),
      }),
    });
    await producer.send({ topic: sys.topic, messages: forged });
    await producer.disconnect();
    const dead: string[] = [];
    const consumer = sys.kafka.consumer({ groupId: `dlq-probe-${Date.now()}` });
    await consumer.connect();
    await consumer.subscribe({ topic: dlqTopicOf(sys.topic), fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void dead.push(message.value?.toString() ?? '') });
    await waitFor(() => dead.filter((v) => v.includes('forged')).length === forged.length, 30_000, 'forged records in the DLQ');
    await consumer.disconnect();

    // Bob's messages are intact: same ids, seqs 1..30, bodies unchanged; nothing else stored.
    const page = await sys.rest<Page>(bob, 'GET', `/v1/conversations/${id}/messages?limit=100`);
    expect(page.body.messages.map((m) => [m.message_id, m.seq, m.sender_id, m.body])).toEqual(acks.map((a, i) => [a.message_id, i + 1, bob, `bob ${i}`]));
    expect(await storedRows(id)).toBe(30);
    const aliceWs = await connect(0, alice);
    const sync = await aliceWs.request<SyncResultFrame>({ type: 'sync', positions: [{ conversation_id: id, seq: 0 }] });
    expect(sync.conversations[0]?.messages.map((m) => m.message_id)).toEqual(acks.map((a) => a.message_id));
  });
});
