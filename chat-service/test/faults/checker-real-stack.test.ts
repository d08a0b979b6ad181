import WebSocket from 'ws';
import cassandra from 'cassandra-driver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChatClient, type ChatClientOptions } from '@chat/sdk';
import { cassandraMessageReader, checkHistory, History, recordingWebSocket, waitForZeroLag } from '@chat/testing/history-checker';
import { startSystem, type TestSystem } from '../support/system.js';

// The history checker against the real stack: the SDK's shown and raw logs, storage read with CQL,
// the sequencer's lag from Kafka. A clean run passes; a stored row removed behind its back is found.
let sys: TestSystem;
const clients: ChatClient[] = [];

beforeAll(async () => {
  sys = await startSystem(1);
}, 180_000);

afterAll(async () => {
  for (const c of clients) c.close();
  await sys?.close();
});

describe('history checker on the real stack', () => {
  it('passes a clean SDK run, then reports an acked message deleted from Cassandra as lost', async () => {
    const run = Math.random().toString(36).slice(2, 8);
    const [alice, bob] = [`alice-${run}`, `bob-${run}`];
    const created = await sys.rest<{ conversation: { conversation_id: string } }>(alice, 'POST', '/v1/conversations', { kind: 'direct', user_id: bob });
    const conv = created.body.conversation.conversation_id;
    const history = new History('checker on the real stack');
    const connect = (user: string) => {
      const device = history.device(user).follow(conv);
      const WebSocketImpl = recordingWebSocket(WebSocket as unknown as NonNullable<ChatClientOptions['WebSocketImpl']>, (t) => device.rawFrame(t));
      const c = new ChatClient({ url: sys.gateways[0]!.url, getToken: () => sys.token(user), WebSocketImpl, reconnectBaseMs: 50 });
      clients.push(c);
      device.attach(c);
      c.track(conv, 0);
      return c;
    };
    const [a, b] = [connect(alice), connect(bob)];
    await Promise.all([a.connect(), b.connect()]);
    await Promise.all(Array.from({ length: 20 }, (_, i) => history.send(i % 2 ? a : b, i % 2 ? alice : bob, conv, `m${i}`, `c${i}`)));

    await waitForZeroLag(sys.kafka, sys.env.SEQUENCER_GROUP_ID!, sys.topic);
    const readStored = cassandraMessageReader(sys.cassandra);
    const clean = await checkHistory(history, { readStored, settleMs: 10_000 });
    expect(clean.violations).toEqual([]);
    expect(clean).toMatchObject({ ok: true, acked: 20, stored: 20, lost: 0, duplicated: 0, reordered: 0, indeterminate: 0 });
    expect(history.devices.every((d) => d.rawLog.length >= 20)).toBe(true);

    // Sequencer writes carry generation-derived timestamps: the delete needs a later one to win.
    await sys.cassandra.execute(
      'DELETE FROM messages USING TIMESTAMP ? WHERE conversation_id = ? AND bucket = 0 AND seq = 7',
      [cassandra.types.Long.fromString('4000000000000000000'), cassandra.types.Long.fromString(conv)],
      {
        prepare: true,
      },
    );
    const broken = await checkHistory(history, { readStored, print: false });
    expect(broken).toMatchObject({ ok: false, lost: 1, gaps: 1, stored: 19 });
  });
});
