import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChatMessage } from '@chat/protocol';
import { ChatClient, type ChatClientOptions } from '@chat/sdk';
import { startSystem, waitFor, type TestSystem } from './support/system.js';

const SDK_EXAMPLE = fileURLToPath(new URL('../../shared/sdk/examples/hello.mjs', import.meta.url));

// The client SDK against the real system: ordered exactly-once delivery and resume across a gateway drain.
let sys: TestSystem;
const clients: ChatClient[] = [];

function client(userId: string, url: string | string[]): ChatClient {
  const c = new ChatClient({
    url,
    getToken: () => sys.token(userId),
    WebSocketImpl: WebSocket as unknown as ChatClientOptions['WebSocketImpl'],
    reconnectBaseMs: 50,
  });
  clients.push(c);
  return c;
}

beforeAll(async () => {
  sys = await startSystem(2);
}, 180_000);

afterAll(async () => {
  for (const c of clients) c.close();
  await sys?.close();
});

describe('client SDK', () => {
  it('shows every message once and in order, across a drain of its gateway', async () => {
    const [alice, bob] = [`alice-${Date.now()}`, `bob-${Date.now()}`];
    const res = await sys.rest<{ conversation: { conversation_id: string } }>(alice, 'POST', '/v1/conversations', { kind: 'direct', user_id: bob });
    const conv = res.body.conversation.conversation_id;
    const [gw1, gw2] = [sys.gateways[0]!, sys.gateways[1]!];

    const sender = client(alice, gw2.url);
    const receiver = client(bob, [gw1.url, gw2.url]);
    const shown: ChatMessage[] = [];
    receiver.on('message', (m) => shown.push(m));
    receiver.track(conv, 0);
    await Promise.all([sender.connect(), receiver.connect()]);

    for (let i = 0; i < 3; i++) await sender.send(conv, `before ${i}`);
    await waitFor(() => shown.length === 3, 15_000, 'the first three');

    const drained = gw1.stop('SIGTERM'); // sends `reconnect`, then closes with 4401
    for (let i = 0; i < 5; i++) await sender.send(conv, `during ${i}`);
    await drained;
    for (let i = 0; i < 2; i++) await sender.send(conv, `after ${i}`);

    await waitFor(() => shown.length >= 10, 20_000, 'all ten on the other gateway');
    await new Promise((r) => setTimeout(r, 300)); // a duplicate would have shown up by now
    expect(shown.map((m) => m.seq)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
    expect(new Set(shown.map((m) => m.message_id)).size).toBe(10);
    expect(receiver.positions()).toEqual([expect.objectContaining({ conversation_id: conv, seq: 10 })]);
  });

  it('runs its published example (shared/sdk/examples/hello.mjs) as a user would', async () => {
    const run = Date.now();
    const { stdout } = await promisify(execFile)(process.execPath, [SDK_EXAMPLE], {
      env: {
        ...process.env,
        ALICE_TOKEN: sys.token(`alice-ex-${run}`),
        BOB_TOKEN: sys.token(`bob-ex-${run}`),
        CHAT_WS_URL: sys.gateways[1]!.url,
        CHAT_API_URL: sys.chatUrl,
      },
      timeout: 30_000,
    });
    expect(stdout).toMatch(new RegExp(`bob received seq 1 from alice-ex-${run}: hello, bob`));
  });
});
