import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloseCodes, type AckFrame, type ChatMessage, type HistoryResultFrame, type SyncResultFrame } from '@chat/protocol';
import { ChatClient, type ChatClientOptions, type CloseInfo } from '@chat/sdk';
import { RawClient } from './support/raw-client.js';
import { startSystem, waitFor, type TestSystem } from './support/system.js';
import { RedisKeys } from '@chat/server/redis';

// Replies larger than a socket's send buffer (WS_MAX_BACKPRESSURE_BYTES, 1 MiB here): they come in
// pages that fit, and a client that asks for them is never closed as a slow consumer.
const COUNT = 400;
const BODY_BYTES = 15 * 1024;
const MAX_BACKPRESSURE = 1024 * 1024;

let sys: TestSystem;
const raws: RawClient[] = [];
const sdks: ChatClient[] = [];
let alice: string;
let bob: string;
let conv: string;

async function raw(userId: string): Promise<RawClient> {
  const c = await RawClient.connect(sys.gateways[0]!.url, sys.token(userId));
  raws.push(c);
  return c;
}

function frameBytes(f: unknown): number {
  return Buffer.byteLength(JSON.stringify(f), 'utf8');
}

beforeAll(async () => {
  sys = await startSystem(1);
  alice = `alice-${Date.now()}`;
  bob = `bob-${Date.now()}`;
  const res = await sys.rest<{ conversation: { conversation_id: string } }>(alice, 'POST', '/v1/conversations', { kind: 'direct', user_id: bob });
  conv = res.body.conversation.conversation_id;
  const sender = await raw(alice);
  for (let i = 0; i < COUNT; i += 25) {
    const acks = await Promise.all(
      Array.from({ length: 25 }, (_, j) =>
        sender.request<AckFrame>({ type: 'send', conversation_id: conv, client_msg_id: `big-${i + j}`, body: `${i + j} `.padEnd(BODY_BYTES, 'x') }, 30_000),
      ),
    );
    expect(acks.every((a) => a.type === 'ack')).toBe(true);
  }
  sender.close();
  let last: unknown;
  await waitFor(
    async () => {
      const r = await sys.rest<{ messages: { seq: number }[] }>(bob, 'GET', `/v1/conversations/${conv}/messages?limit=1`);
      last = { status: r.status, seqs: r.body.messages?.map((m) => m.seq) };
      return r.body.messages?.[0]?.seq === COUNT;
    },
    60_000,
    'all messages stored',
  ).catch((err: Error) => {
    throw new Error(`${err.message}: ${JSON.stringify(last)}`);
  });
}, 240_000);

afterAll(async () => {
  for (const c of raws) c.close();
  for (const c of sdks) c.close();
  await sys?.close();
});

describe('replies larger than the socket buffer', () => {
  it('item 6: sync from 0 over 400 messages of 15 KB completes in pages with has_more, without any close', async () => {
    const c = await raw(bob);
    const seqs: number[] = [];
    let position = 0;
    let pages = 0;
    for (;;) {
      const r = await c.request<SyncResultFrame>({ type: 'sync', positions: [{ conversation_id: conv, seq: position }] });
      expect(r.type).toBe('sync.result');
      expect(frameBytes(r)).toBeLessThan(MAX_BACKPRESSURE);
      const entry = r.conversations[0]!;
      expect(entry).toMatchObject({ status: 'ok', last_seq: COUNT });
      seqs.push(...entry.messages.map((m) => m.seq));
      pages++;
      if (!entry.has_more) break;
      expect(entry.messages.length).toBeGreaterThan(0);
      position = entry.messages.at(-1)!.seq;
      expect(pages).toBeLessThan(COUNT);
    }
    expect(pages).toBeGreaterThan(1);
    expect(seqs).toEqual(Array.from({ length: COUNT }, (_, i) => i + 1));
    expect(c.closeCode).toBeNull();
  });

  it('item 6: history with limit 100 over 15 KB messages pages with has_more, without any close; a limit above HISTORY_MAX_LIMIT is capped, not refused', async () => {
    const c = await raw(bob);
    const seqs: number[] = [];
    let after = 0;
    for (let pages = 0; ; pages++) {
      const r = await c.request<HistoryResultFrame>({ type: 'history', conversation_id: conv, after, limit: 100 });
      expect(r.type).toBe('history.result');
      expect(r.messages.length).toBeGreaterThan(0);
      expect(r.messages.length).toBeLessThan(100); // 100 × 15 KB is over the budget
      expect(frameBytes(r)).toBeLessThan(MAX_BACKPRESSURE);
      seqs.push(...r.messages.map((m) => m.seq));
      after = r.messages.at(-1)!.seq;
      if (!r.has_more) break;
      expect(pages).toBeLessThan(COUNT);
    }
    expect(seqs).toEqual(Array.from({ length: COUNT }, (_, i) => i + 1));
    // Newest page, backwards: the newest messages that fit.
    const newest = await c.request<HistoryResultFrame>({ type: 'history', conversation_id: conv, limit: 100 });
    expect(newest.has_more).toBe(true);
    expect(newest.messages.at(-1)?.seq).toBe(COUNT);
    // limit 5000: capped like REST instead of refused.
    const capped = await c.request<HistoryResultFrame>({ type: 'history', conversation_id: conv, after: 0, limit: 5000 });
    expect(capped.type).toBe('history.result');
    expect(capped.messages[0]?.seq).toBe(1);
    expect(c.closeCode).toBeNull();
  });

  it('item 6: the SDK resumes all 400 messages from seq 0 without being closed', async () => {
    const client = new ChatClient({
      url: sys.gateways[0]!.url,
      getToken: () => sys.token(bob),
      WebSocketImpl: WebSocket as unknown as ChatClientOptions['WebSocketImpl'],
      reconnectBaseMs: 50,
    });
    sdks.push(client);
    const shown: ChatMessage[] = [];
    const closes: CloseInfo[] = [];
    client.on('message', (m) => shown.push(m));
    client.on('close', (i) => closes.push(i));
    client.on('error', () => undefined);
    client.track(conv, 0);
    await client.connect();
    await waitFor(() => shown.length >= COUNT, 60_000, 'all messages shown');
    expect(shown.map((m) => m.seq)).toEqual(Array.from({ length: COUNT }, (_, i) => i + 1));
    expect(closes).toEqual([]);
  });

  it('item 6: a client that stops reading is closed with 4400 and sees code 4400', async () => {
    const slow = await raw(`slow-${Date.now()}`);
    const slowId = (slow.frames.find((f) => f.type === 'hello') as { user_id: string }).user_id;
    const socket = (slow.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    socket.pause();
    const gateway = sys.gateways[0]!;
    const channel = new RedisKeys(sys.config.REDIS_KEY_PREFIX).gatewayEvents(gateway.id);
    const frame = JSON.stringify({ type: 'typing', conversation_id: '1', user_id: 'x', state: 'start', pad: 'y'.repeat(60 * 1024) });
    const event = JSON.stringify({ v: 1, type: 'deliver', deliveries: [{ user_ids: [slowId], frame }] });
    const key = new RedisKeys(sys.config.REDIS_KEY_PREFIX).userConnections(slowId);
    // Bursts in one pipeline land in one gateway tick: the limit must hold within a tick too.
    for (let n = 0; n < 1000 && (await sys.redis.hlen(key)) > 0; n += 25) {
      const p = sys.redis.pipeline();
      for (let i = 0; i < 25; i++) p.publish(channel, event);
      await p.exec();
    }
    expect(await sys.redis.hlen(key)).toBe(0);
    // It reads again only after uWS's end() timeout (16 s with the default 60 s idle timeout): a
    // close frame queued behind the backlog would be lost by then (1006).
    await new Promise((r) => setTimeout(r, 18_000));
    socket.resume();
    await waitFor(() => slow.closeCode !== null, 20_000, 'close');
    expect(slow.closeCode).toBe(CloseCodes.SLOW_CONSUMER.code);
  });
});
