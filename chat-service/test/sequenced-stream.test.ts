import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AckFrame, ChatMessage } from '@chat/protocol';
import { parseSequencedRecord } from '@chat/protocol/internal';
import { sequencedTopicFromConfig } from '@chat/server/kafka-topics';
import { RawClient } from './support/raw-client.js';
import { startSystem, waitFor, type TestSystem } from './support/system.js';

let sys: TestSystem;
const clients: RawClient[] = [];
const uid = (name: string) => `${name}-${Math.random().toString(36).slice(2, 8)}`;

beforeAll(async () => {
  sys = await startSystem(2);
}, 180_000);

afterAll(async () => {
  for (const c of clients) c.close();
  await sys?.close();
});

describe('the sequenced stream', () => {
  it('carries every stored message once per store, in seq order per conversation, keyed by conversation, exactly as clients get it', async () => {
    const users = [0, 1, 2].map((i) => uid(`s${i}`));
    const created = await sys.rest<{ conversation: { conversation_id: string } }>(users[0]!, 'POST', '/v1/conversations', {
      kind: 'group',
      title: 'seq',
      member_ids: users.slice(1),
    });
    expect(created.status).toBe(201);
    const conv = created.body.conversation.conversation_id;
    const senders = await Promise.all(
      users.map(async (u, i) => {
        const c = await RawClient.connect(sys.gateways[i % 2]!.url, sys.token(u));
        clients.push(c);
        return c;
      }),
    );

    const records: { key: string; message: ChatMessage }[] = [];
    const consumer = sys.kafka.consumer({ groupId: `probe-sequenced-${Date.now()}` });
    await consumer.connect();
    await consumer.subscribe({ topic: sequencedTopicFromConfig(sys.config), fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const record = parseSequencedRecord(message.value!.toString('utf8'));
        if (record.message.conversation_id === conv) records.push({ key: message.key!.toString(), message: record.message });
      },
    });

    const perSender = 40;
    // Concurrent senders, each with a few sends in flight (the gateway bounds requests in flight per connection).
    const acks = await Promise.all(
      senders.map(async (c, i) => {
        const out: AckFrame[] = [];
        for (let wave = 0; wave < perSender; wave += 8) {
          const n = Array.from({ length: 8 }, (_, k) => wave + k);
          out.push(
            ...(await Promise.all(
              n.map((k) => c.request<AckFrame>({ type: 'send', conversation_id: conv, client_msg_id: `m${i}-${k}`, body: `hello ${i} ${k}` })),
            )),
          );
        }
        return out;
      }),
    );
    const total = senders.length * perSender;
    expect(acks.flat().filter((a) => a.type !== 'ack')).toEqual([]);
    await waitFor(() => records.length >= total, 30_000, 'sequenced records');
    await waitFor(() => senders[0]!.messages(conv).length >= total, 30_000, 'real-time delivery');
    await consumer.disconnect();

    // Without a crash nothing is published twice; in a crash, consumers would dedup by seq.
    expect(records.map((r) => r.message.seq)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    expect(records.every((r) => r.key === conv)).toBe(true);
    const delivered = senders[0]!.messages(conv).map(({ type: _type, ...m }) => m);
    expect(records.map((r) => r.message)).toEqual(delivered);
  });
});
