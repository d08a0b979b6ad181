import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AckFrame, ChatMessage } from '@chat/protocol';
import { ChatClient, type ChatClientOptions } from '@chat/sdk';
import { RawClient } from './support/raw-client.js';
import { startGateway, startSystem, waitFor, type GatewayProcess, type TestSystem } from './support/system.js';
import { RedisKeys } from '@chat/server/redis';

// A real-time message lost on Redis pub/sub must not go unnoticed while the conversation is quiet.
// Routing is refreshed only every 20 s here, so a routing entry deleted by the test stays deleted
// long enough to make the gateway miss a message deterministically.
const DIGEST_MS = 1000;
let sys: TestSystem;
const raws: RawClient[] = [];
const sdks: ChatClient[] = [];
const extraGateways: GatewayProcess[] = [];

function sdk(userId: string): ChatClient {
  const c = new ChatClient({
    url: sys.gateways[0]!.url,
    getToken: () => sys.token(userId),
    WebSocketImpl: WebSocket as unknown as ChatClientOptions['WebSocketImpl'],
    reconnectBaseMs: 50,
  });
  c.on('error', () => undefined);
  sdks.push(c);
  return c;
}

async function raw(userId: string): Promise<RawClient> {
  const c = await RawClient.connect(sys.gateways[0]!.url, sys.token(userId));
  raws.push(c);
  return c;
}

async function direct(a: string, b: string): Promise<string> {
  const res = await sys.rest<{ conversation: { conversation_id: string } }>(a, 'POST', '/v1/conversations', { kind: 'direct', user_id: b });
  return res.body.conversation.conversation_id;
}

beforeAll(async () => {
  sys = await startSystem(1, { env: { SESSION_REFRESH_SECONDS: '20', SESSION_TTL_SECONDS: '60', DELIVERY_DIGEST_INTERVAL_MS: String(DIGEST_MS) } });
}, 180_000);

afterAll(async () => {
  for (const c of raws) c.close();
  for (const c of sdks) c.close();
  await Promise.all(extraGateways.map((g) => g.stop('SIGKILL')));
  await sys?.close();
});

describe('lost real-time messages', () => {
  it('item 8: a message the gateway never received reaches the SDK through the digest within the interval', async () => {
    const [alice, bob] = [`alice-${Date.now()}`, `bob-${Date.now()}`];
    const conv = await direct(alice, bob);
    const receiver = sdk(bob);
    const shown: ChatMessage[] = [];
    receiver.on('message', (m) => shown.push(m));
    receiver.track(conv, 0);
    await receiver.connect();
    const sender = await raw(alice);
    expect((await sender.request<AckFrame>({ type: 'send', conversation_id: conv, client_msg_id: 'one', body: 'first' })).type).toBe('ack');
    await waitFor(() => shown.length === 1, 15_000, 'the first message in real time');

    // Publish nothing for bob: his routing entry is gone until the next refresh (20 s).
    await sys.redis.del(new RedisKeys(sys.config.REDIS_KEY_PREFIX).userConnections(bob));
    expect((await sender.request<AckFrame>({ type: 'send', conversation_id: conv, client_msg_id: 'two', body: 'second, lost in real time' })).type).toBe('ack');
    await waitFor(() => sender.messages(conv).length === 2, 15_000, 'the second message stored and delivered to the sender');
    const storedAt = Date.now();
    await waitFor(() => shown.length === 2, DIGEST_MS * 3 + 2000, 'the lost message through the digest');
    expect(Date.now() - storedAt).toBeLessThanOrEqual(DIGEST_MS * 3 + 2000);
    expect(shown.map((m) => m.body)).toEqual(['first', 'second, lost in real time']);
  });

  it("item 8: when the gateway's Redis subscription reconnects, every local client is told to sync, and the SDK syncs", async () => {
    const [carol, dave] = [`carol-${Date.now()}`, `dave-${Date.now()}`];
    const conv = await direct(carol, dave);
    const watcher = await raw(carol);
    const client = sdk(dave);
    const shown: ChatMessage[] = [];
    client.on('message', (m) => shown.push(m));
    client.track(conv, 0);
    await client.connect();
    const gatewayId = sys.gateways[0]!.id;
    const list = String(await sys.redis.call('CLIENT', 'LIST', 'TYPE', 'pubsub'));
    const line = list.split('\n').find((l) => l.includes(` name=gateway-sub-${gatewayId} `));
    expect(line).toBeDefined();
    const id = /(?:^|\s)id=(\d+)/.exec(line!)?.[1];
    await sys.redis.call('CLIENT', 'KILL', 'ID', id!);
    await waitFor(() => watcher.frames.some((f) => f.type === 'sync.hint'), 10_000, 'a sync.hint');
    expect(watcher.frames.find((f) => f.type === 'sync.hint')).toMatchObject({
      type: 'sync.hint',
      reason: 'delivery_interrupted',
      after_ms: expect.any(Number),
    });
    // Delivery works again afterwards.
    expect((await watcher.request<AckFrame>({ type: 'send', conversation_id: conv, client_msg_id: 'after', body: 'after the reconnect' })).type).toBe('ack');
    await waitFor(() => watcher.messages(conv).length === 1, 15_000, 'delivery to the sender after the reconnect');
    await waitFor(() => shown.some((m) => m.body === 'after the reconnect'), 15_000, 'delivery after the reconnect');
  });

  it('item 8: a gateway whose routing entries lapsed (process frozen longer than SESSION_TTL_SECONDS) tells its clients to sync once it refreshes again', async () => {
    const frozen = await startGateway({ ...sys.env, SESSION_TTL_SECONDS: '5', SESSION_REFRESH_SECONDS: '1' }, `${sys.gateways[0]!.id}-frozen`);
    extraGateways.push(frozen);
    const c = await RawClient.connect(frozen.url, sys.token(`erin-${Date.now()}`));
    raws.push(c);
    frozen.child.kill('SIGSTOP');
    try {
      await new Promise((r) => setTimeout(r, 6500)); // longer than the 5 s TTL: deliveries to it were skipped
    } finally {
      frozen.child.kill('SIGCONT');
    }
    await waitFor(() => c.frames.some((f) => f.type === 'sync.hint'), 10_000, 'a sync.hint after the freeze');
  });
});
