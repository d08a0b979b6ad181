import cassandra from 'cassandra-driver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloseCodes, Errors, type AckFrame, type ErrorFrame, type HistoryResultFrame, type SyncResultFrame } from '@chat/protocol';
import { dlqTopicOf } from '@chat/server/kafka-topics';
import { RawClient } from './support/raw-client.js';
import { startSystem, waitFor, type TestSystem } from './support/system.js';
import { RedisKeys } from '@chat/server/redis';

let sys: TestSystem;
const clients: RawClient[] = [];
const uid = (name: string) => `${name}-${Math.random().toString(36).slice(2, 8)}`;

async function connect(gateway: number, userId: string): Promise<RawClient> {
  const c = await RawClient.connect(sys.gateways[gateway]!.url, sys.token(userId));
  clients.push(c);
  return c;
}

async function direct(a: string, b: string): Promise<string> {
  const res = await sys.rest<{ conversation: { conversation_id: string } }>(a, 'POST', '/v1/conversations', { kind: 'direct', user_id: b });
  expect(res.status).toBe(201);
  return res.body.conversation.conversation_id;
}

async function storedCount(conversationId: string): Promise<number> {
  let total = 0;
  for (const bucket of [0, 1, 2]) {
    const rs = await sys.cassandra.execute(
      'SELECT count(*) AS n FROM messages WHERE conversation_id = ? AND bucket = ?',
      [cassandra.types.Long.fromString(conversationId), bucket],
      { prepare: true },
    );
    total += Number(rs.first()?.n ?? 0);
  }
  return total;
}

beforeAll(async () => {
  sys = await startSystem(2);
}, 180_000);

afterAll(async () => {
  for (const c of clients) c.close();
  await sys?.close();
});

describe('core messaging across two gateway processes', () => {
  it('delivers a direct message once to every device of both users and stores it', async () => {
    const [alice, bob] = [uid('alice'), uid('bob')];
    const conv = await direct(alice, bob);
    const aliceMain = await connect(0, alice);
    const aliceOther = await connect(1, alice);
    const bob1 = await connect(0, bob);
    const bob2 = await connect(1, bob);

    const ack = await aliceMain.request<AckFrame>({ type: 'send', conversation_id: conv, client_msg_id: 'm1', body: 'hello bob' });
    expect(ack.type).toBe('ack');
    expect(ack.duplicate).toBe(false);

    // The ack came after the Kafka write: the record is readable from the topic now.
    const consumer = sys.kafka.consumer({ groupId: `probe-${Date.now()}` });
    const seen: string[] = [];
    await consumer.connect();
    await consumer.subscribe({ topic: sys.topic, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void seen.push(message.value?.toString() ?? '') });
    await waitFor(() => seen.some((v) => v.includes(ack.message_id)), 20_000, 'record in Kafka');
    await consumer.disconnect();

    for (const device of [bob1, bob2, aliceOther, aliceMain]) {
      await waitFor(() => device.messages(conv).length === 1, 15_000, 'delivery');
    }
    await new Promise((r) => setTimeout(r, 300)); // anything duplicated would have arrived by now
    for (const device of [bob1, bob2, aliceOther]) {
      const received = device.messages(conv);
      expect(received).toHaveLength(1);
      expect(received[0]).toMatchObject({ message_id: ack.message_id, seq: 1, sender_id: alice, body: 'hello bob' });
    }
    const history = await bob1.request<HistoryResultFrame>({ type: 'history', conversation_id: conv });
    expect(history.messages.map((m) => [m.message_id, m.seq])).toEqual([[ack.message_id, 1]]);
    const rest = await sys.rest<{ messages: { message_id: string; seq: number }[] }>(bob, 'GET', `/v1/conversations/${conv}/messages`);
    expect(rest.body.messages.map((m) => [m.message_id, m.seq])).toEqual([[ack.message_id, 1]]);
  });

  it("reaches each device that connects after the recipient's routes were kept", async () => {
    const [alice, bob] = [uid('alice'), uid('bob')];
    const conv = await direct(alice, bob);
    const sender = await connect(0, alice);
    const send = async (id: string) => expect((await sender.request({ type: 'send', conversation_id: conv, client_msg_id: id, body: id })).type).toBe('ack');

    // Delivered to alice: chat-service has looked bob up (no connection) and keeps that answer.
    await send('while-offline');
    await waitFor(() => sender.messages(conv).length === 1, 15_000, 'delivery to the sender');
    const bobFirst = await connect(1, bob);
    await send('after-connect');
    await waitFor(() => bobFirst.messages(conv).some((m) => m.client_msg_id === 'after-connect'), 15_000, 'real-time delivery to the new device');

    const bobSecond = await connect(0, bob);
    await send('second-device');
    for (const device of [bobFirst, bobSecond]) {
      await waitFor(() => device.messages(conv).some((m) => m.client_msg_id === 'second-device'), 15_000, 'real-time delivery to both devices');
    }
    expect(bobSecond.messages(conv).map((m) => m.client_msg_id)).toEqual(['second-device']);
  });

  it('gives 1,000 messages from 5 concurrent senders one gap-free order seen identically by every member', async () => {
    const users = [0, 1, 2, 3, 4].map((i) => uid(`u${i}`));
    const created = await sys.rest<{ conversation: { conversation_id: string } }>(users[0]!, 'POST', '/v1/conversations', {
      kind: 'group',
      title: 'load',
      member_ids: users,
    });
    const conv = created.body.conversation.conversation_id;
    const devices = await Promise.all(users.map((u, i) => connect(i % 2, u)));
    await Promise.all(
      devices.map(async (device, i) => {
        for (let batch = 0; batch < 10; batch++) {
          const acks = await Promise.all(
            Array.from({ length: 20 }, (_, j) =>
              device.request<AckFrame>({ type: 'send', conversation_id: conv, client_msg_id: `s${i}-${batch}-${j}`, body: `from ${i} #${batch * 20 + j}` }),
            ),
          );
          expect(acks.every((a) => a.type === 'ack')).toBe(true);
        }
      }),
    );
    for (const device of devices) await waitFor(() => device.messages(conv).length >= 1000, 60_000, 'all 1,000 deliveries');
    const orders = devices.map((d) => d.messages(conv).map((m) => `${m.seq}:${m.message_id}`));
    for (const order of orders) expect(order).toEqual(orders[0]);
    expect(devices[0]!.messages(conv).map((m) => m.seq)).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
    expect(await storedCount(conv)).toBe(1000);
  }, 120_000);

  it('turns the same client_msg_id sent through two gateways into one message with one ack', async () => {
    const [alice, bob] = [uid('alice'), uid('bob')];
    const conv = await direct(alice, bob);
    const [viaGw1, viaGw2] = [await connect(0, alice), await connect(1, alice)];
    const frame = { type: 'send', conversation_id: conv, client_msg_id: 'same-id', body: 'only once' };
    const [a, b] = await Promise.all([viaGw1.request<AckFrame>(frame), viaGw2.request<AckFrame>(frame)]);
    expect(a.message_id).toBe(b.message_id);
    expect([a.duplicate, b.duplicate].sort()).toEqual([false, true]);
    await waitFor(async () => (await storedCount(conv)) === 1, 15_000, 'stored');
    await new Promise((r) => setTimeout(r, 500));
    expect(await storedCount(conv)).toBe(1);
    expect(viaGw1.messages(conv)).toHaveLength(1);
  });

  it('resumes on the other gateway with exactly the messages missed, in order', async () => {
    const [alice, bob] = [uid('alice'), uid('bob')];
    const conv = await direct(alice, bob);
    const sender = await connect(0, alice);
    const bobFirst = await connect(0, bob);
    await sender.request({ type: 'send', conversation_id: conv, client_msg_id: 'before', body: 'seen' });
    await waitFor(() => bobFirst.messages(conv).length === 1, 15_000, 'first message');
    const lastSeen = bobFirst.messages(conv)[0]!;
    bobFirst.close();
    await waitFor(() => bobFirst.closeCode !== null, 5000, 'close');

    for (let i = 0; i < 50; i++) await sender.request({ type: 'send', conversation_id: conv, client_msg_id: `missed-${i}`, body: `missed ${i}` });

    const bobAgain = await connect(1, bob);
    const result = await bobAgain.request<SyncResultFrame>({ type: 'sync', positions: [{ conversation_id: conv, seq: lastSeen.seq, epoch: lastSeen.epoch }] });
    const entry = result.conversations[0]!;
    expect(entry.status).toBe('ok');
    // Anything not yet persisted when sync ran arrives in real time: the union is what B sees.
    await waitFor(() => new Set([...entry.messages, ...bobAgain.messages(conv)].map((m) => m.seq)).size === 50, 15_000, 'all 50');
    const bySeq = new Map([...entry.messages, ...bobAgain.messages(conv)].map((m) => [m.seq, m]));
    expect([...bySeq.keys()].sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i + 2));
    expect(entry.messages.map((m) => m.body)).toEqual(entry.messages.map((m) => `missed ${m.seq - 2}`));
  });

  it('rebuilds routing after Redis lost it, so delivery resumes without reconnecting', async () => {
    const [alice, bob] = [uid('alice'), uid('bob')];
    const conv = await direct(alice, bob);
    const sender = await connect(0, alice);
    const receiver = await connect(1, bob);
    const lost = await sys.redis.keys(`${sys.env.REDIS_KEY_PREFIX}*`);
    await sys.redis.del(...lost); // what a Redis restart without persistence leaves behind
    const prefix = sys.env.REDIS_KEY_PREFIX!;
    const rebuilt = async () =>
      (await sys.redis.exists(new RedisKeys(prefix).userConnections(bob), new RedisKeys(prefix).gatewayAlive(sys.gateways[1]!.id))) === 2;
    await waitFor(rebuilt, 10_000, 'the gateways to re-assert their connections');
    // The lost data included chat-service's worker-id lease: sends get 4101 (retry) until a new id
    // is proven, as a client's retries with the same client_msg_id would find.
    await waitFor(async () => (await sys.redis.keys(`${prefix}worker-id:*`)).some((k) => !k.endsWith(':next')), 10_000, 'a new worker-id lease');
    const send = { type: 'send', conversation_id: conv, client_msg_id: 'after-loss', body: 'still routed' };
    await waitFor(async () => (await sender.request(send)).type === 'ack', 15_000, 'the send to be acked');
    await waitFor(() => receiver.messages(conv).length === 1, 15_000, 'delivery after routing loss');
  });

  it('commits consumer offsets once messages are stored', async () => {
    const admin = sys.kafka.admin();
    await admin.connect();
    const committed = async () => {
      const [topic] = await admin.fetchOffsets({ groupId: sys.env.SEQUENCER_GROUP_ID!, topics: [sys.topic] });
      return (topic?.partitions ?? []).reduce((n, p) => n + Math.max(0, Number(p.offset)), 0);
    };
    await waitFor(async () => (await committed()) > 1000, 15_000, 'committed offsets');
    await admin.disconnect();
  });

  it('answers resync when the epoch changed', async () => {
    const [alice, bob] = [uid('alice'), uid('bob')];
    const conv = await direct(alice, bob);
    const c = await connect(0, alice);
    const result = await c.request<SyncResultFrame>({ type: 'sync', positions: [{ conversation_id: conv, seq: 0, epoch: 'old-epoch' }] });
    expect(result.conversations[0]).toMatchObject({ status: 'resync', reason: 'epoch_changed' });
  });
});

describe('bad input is refused with documented codes and stores nothing', () => {
  it('rejects malformed, unknown, oversize, foreign and forged frames while others keep being served', async () => {
    const [alice, bob, eve] = [uid('alice'), uid('bob'), uid('eve')];
    const conv = await direct(alice, bob);
    const bystander = await connect(1, bob);
    const eveClient = await connect(0, eve);

    eveClient.sendRaw('{not json');
    await waitFor(() => eveClient.frames.some((f) => f.type === 'error' && f.code === Errors.BAD_FRAME.code), 5000, 'bad_frame').catch((err) => {
      throw new Error(`${err.message}: ${JSON.stringify(eveClient.frames)} close=${eveClient.closeCode} error=${eveClient.lastError}`);
    });
    const unknown = await eveClient.request<ErrorFrame>({ type: 'teleport' });
    expect(unknown.code).toBe(Errors.UNKNOWN_TYPE.code);
    const foreign = await eveClient.request<ErrorFrame>({ type: 'send', conversation_id: conv, client_msg_id: 'x1', body: 'let me in' });
    expect(foreign.code).toBe(Errors.NOT_MEMBER.code);
    const forged = await eveClient.request<ErrorFrame>({ type: 'send', conversation_id: conv, client_msg_id: 'x2', body: 'hi', sender: alice });
    expect(forged.code).toBe(Errors.SENDER_MISMATCH.code);
    const history = await eveClient.request<ErrorFrame>({ type: 'history', conversation_id: conv });
    expect(history.code).toBe(Errors.NOT_MEMBER.code);

    eveClient.sendRaw(JSON.stringify({ type: 'send', ref: 'big', conversation_id: conv, client_msg_id: 'x3', body: 'x'.repeat(sys.config.MAX_FRAME_BYTES) }));
    await waitFor(() => eveClient.closeCode !== null, 5000, 'oversize close');
    expect(eveClient.closeCode).toBe(CloseCodes.MESSAGE_TOO_BIG.code);

    await expect(RawClient.connect(sys.gateways[0]!.url, sys.token(alice).replace(/.$/, 'x'))).rejects.toThrow(/401/);
    await expect(RawClient.connect(sys.gateways[0]!.url, sys.token(alice, -60))).rejects.toThrow(/401/);

    // The gateway still serves others, and nothing was stored.
    const aliceClient = await connect(0, alice);
    const ack = await aliceClient.request<AckFrame>({ type: 'send', conversation_id: conv, client_msg_id: 'legit', body: 'still works' });
    expect(ack.type).toBe('ack');
    await waitFor(() => bystander.messages(conv).length === 1, 15_000, 'delivery after bad input');
    expect(bystander.messages(conv)[0]!.body).toBe('still works');
    expect(await storedCount(conv)).toBe(1);
  });

  it('dead-letters malformed Kafka records and keeps sequencing the ones behind them', async () => {
    const [alice, bob] = [uid('alice'), uid('bob')];
    const conv = await direct(alice, bob);
    const bobClient = await connect(1, bob);
    const producer = sys.kafka.producer();
    await producer.connect();
    await producer.send({
      topic: sys.topic,
      messages: [
        { key: conv, value: '{"v":1,"type":"message","conversation_id":"nope"}' },
        { key: conv, value: 'not json at all' },
        {
          key: '12345',
          value: JSON.stringify({
            v: 1,
            type: 'message',
            conversation_id: '12345',
            message_id: '77',
            sender_id: alice,
            client_msg_id: 'x',
            body: 'to a conversation that does not exist',
            created_at: 1,
          }),
        },
      ],
    });
    await producer.disconnect();
    const aliceClient = await connect(0, alice);
    await aliceClient.request({ type: 'send', conversation_id: conv, client_msg_id: 'after-poison', body: 'still flowing' });
    await waitFor(() => bobClient.messages(conv).length === 1, 15_000, 'delivery behind poison records');
    expect(bobClient.messages(conv)[0]).toMatchObject({ seq: 1, body: 'still flowing' });

    const dead: { error: string }[] = [];
    const consumer = sys.kafka.consumer({ groupId: `dlq-probe-${Date.now()}` });
    await consumer.connect();
    await consumer.subscribe({ topic: dlqTopicOf(sys.topic), fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void dead.push({ error: message.headers?.['x-error']?.toString() ?? '' }) });
    await waitFor(() => dead.length >= 3, 20_000, 'three dead letters');
    await consumer.disconnect();
    expect(dead.map((d) => d.error).join('\n')).toMatch(/does not exist/);
  });

  it('refuses REST calls without a valid token or with bad bodies', async () => {
    const res = await fetch(`${sys.chatUrl}/v1/conversations`, { headers: { authorization: 'Bearer nope' } });
    expect(res.status).toBe(401);
    const bad = await sys.rest<{ error: { code: number } }>(uid('x'), 'POST', '/v1/conversations', { kind: 'group', member_ids: 'not-a-list' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe(Errors.INVALID_SHAPE.code);
  });
});
