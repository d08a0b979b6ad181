import cassandra from 'cassandra-driver';
import { ChatClient, InboxClient, type ChatClientOptions } from '@chat/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { AckFrame, ChatMessage, ConversationListPage, EverythingNew, InboxResultFrame, LargeConversationNew } from '@chat/protocol';
import { countInboxRows } from './support/inbox-rows.js';
import { RawClient } from './support/raw-client.js';
import { startSystem, waitFor, type TestSystem } from './support/system.js';

let sys: TestSystem;
const clients: RawClient[] = [];
const run = Math.random().toString(36).slice(2, 8);
const users = (name: string, n: number) => Array.from({ length: n }, (_, i) => `${name}${i}-${run}`);
const seqsOf = (ms: readonly ChatMessage[] | undefined) => (ms ?? []).map((m) => m.seq);

async function group(owner: string, members: string[]): Promise<string> {
  const res = await sys.rest<{ conversation: { conversation_id: string } }>(owner, 'POST', '/v1/conversations', {
    kind: 'group',
    title: 't',
    member_ids: members,
  });
  expect(res.status).toBe(201);
  return res.body.conversation.conversation_id;
}

async function connect(userId: string, gateway = 0): Promise<RawClient> {
  const c = await RawClient.connect(sys.gateways[gateway]!.url, sys.token(userId));
  clients.push(c);
  return c;
}

async function sendAll(ws: RawClient, conv: string, tag: string, count: number, body = (i: number) => `${tag} ${i}`): Promise<void> {
  for (let i = 0; i < count; i++) {
    const ack = await ws.request<AckFrame>({ type: 'send', conversation_id: conv, client_msg_id: `${tag}${i}`, body: body(i) });
    expect(ack.type).toBe('ack');
  }
}

/** Waits until the member's conversation list shows `seq` as the conversation's last (it is stored). */
const lastSeqIs = (userId: string, conv: string, seq: number) =>
  waitFor(
    async () =>
      (await sys.rest<ConversationListPage>(userId, 'GET', '/v1/conversation-list')).body.conversations.find((c) => c.conversation_id === conv)?.last_seq ===
      seq,
    30_000,
    `seq ${seq} of ${conv} stored`,
  );

const largeEntry = (page: EverythingNew, conv: string): LargeConversationNew | undefined => page.large.find((l) => l.conversation_id === conv);

beforeAll(async () => {
  sys = await startSystem(2, { roles: 'api,sequencer,inbox' });
}, 180_000);

afterAll(async () => {
  for (const c of clients) c.close();
  await sys?.close();
});

describe('everything new with the first page of each large conversation (large_first_page)', () => {
  it('returns the messages after the read position, at most large_first_page each, never at or before the join point, over REST, WebSocket and the SDK', async () => {
    const members = users('L', 51);
    const [owner, reader] = [members[0]!, members[1]!];
    const busy = await group(owner, members.slice(1));
    const quiet = await group(owner, members.slice(1));
    const ownerWs = await connect(owner);
    await sendAll(ownerWs, busy, 'b', 12);
    await sendAll(ownerWs, quiet, 'q', 2);
    await lastSeqIs(owner, busy, 12);
    await lastSeqIs(owner, quiet, 2);
    // Fanned out on read: no inbox rows, so the pages come from the conversations themselves.
    expect(await countInboxRows(sys.cassandra, busy, members)).toBe(0);
    expect((await sys.rest(reader, 'PUT', `/v1/conversations/${busy}/read`, { seq: 3 })).status).toBe(200);
    expect((await sys.rest(reader, 'PUT', `/v1/conversations/${quiet}/read`, { seq: 2 })).status).toBe(200);

    // Without the flag: only the latest seq, as before.
    const plain = await sys.rest<EverythingNew>(reader, 'GET', '/v1/inbox');
    expect(largeEntry(plain.body, busy)).toEqual({ conversation_id: busy, epoch: expect.any(String), last_seq: 12 });

    // REST: 5 of the 9 new messages; the conversation read to its end has no page.
    const rest = await sys.rest<EverythingNew>(reader, 'GET', '/v1/inbox?large_first_page=5');
    expect(rest.status).toBe(200);
    expect(rest.body.has_more).toBe(false);
    expect(largeEntry(rest.body, busy)).toMatchObject({ last_seq: 12, after_seq: 3, has_more: true });
    expect(seqsOf(largeEntry(rest.body, busy)?.messages)).toEqual([4, 5, 6, 7, 8]);
    expect(largeEntry(rest.body, busy)?.messages?.map((m) => m.body)).toEqual(['b 3', 'b 4', 'b 5', 'b 6', 'b 7']);
    expect(largeEntry(rest.body, quiet)).toEqual({ conversation_id: quiet, epoch: expect.any(String), last_seq: 2 });

    // WebSocket: a page large enough for all of them ends the conversation (has_more false).
    const readerWs = await connect(reader, 1);
    const ws = await readerWs.request<InboxResultFrame>({ type: 'inbox', large_first_page: 20 });
    expect(ws.type).toBe('inbox.result');
    expect(largeEntry(ws, busy)).toMatchObject({ last_seq: 12, after_seq: 3, has_more: false });
    expect(seqsOf(largeEntry(ws, busy)?.messages)).toEqual([4, 5, 6, 7, 8, 9, 10, 11, 12]);

    // A member added at seq 12, then three more messages: only those, even with a read position
    // below the join point (as rows written before join points were kept have).
    const newcomer = `newcomer-${run}`;
    expect((await sys.rest(owner, 'POST', `/v1/conversations/${busy}/members`, { user_ids: [newcomer] })).status).toBe(200);
    await sendAll(ownerWs, busy, 'n', 3);
    await lastSeqIs(owner, busy, 15);
    const initial = await sys.rest<EverythingNew>(newcomer, 'GET', '/v1/inbox?large_first_page=100');
    expect(largeEntry(initial.body, busy)).toMatchObject({ last_seq: 15, after_seq: 12, has_more: false });
    expect(seqsOf(largeEntry(initial.body, busy)?.messages)).toEqual([13, 14, 15]);
    await sys.cassandra.execute('DELETE FROM read_positions WHERE user_id = ? AND conversation_id = ?', [newcomer, cassandra.types.Long.fromString(busy)], {
      prepare: true,
    });
    const newcomerWs = await connect(newcomer);
    const floored = await newcomerWs.request<InboxResultFrame>({ type: 'inbox', large_first_page: 100 });
    expect(largeEntry(floored, busy)).toMatchObject({ after_seq: 12, has_more: false });
    expect(seqsOf(largeEntry(floored, busy)?.messages)).toEqual([13, 14, 15]);

    // The SDK, typed, over REST and WebSocket.
    const inbox = new InboxClient({ baseUrl: sys.chatUrl, getToken: () => sys.token(reader) });
    const viaRest = await inbox.everythingNew(undefined, { largeFirstPage: 2 });
    expect(viaRest.large.find((l) => l.conversation_id === busy)).toMatchObject({ after_seq: 3, has_more: true });
    expect(seqsOf(viaRest.large.find((l) => l.conversation_id === busy)?.messages)).toEqual([4, 5]);
    const chat = new ChatClient({
      url: sys.gateways[0]!.url,
      getToken: () => sys.token(reader),
      WebSocketImpl: WebSocket as unknown as ChatClientOptions['WebSocketImpl'],
    });
    try {
      await chat.connect();
      const viaWs = await chat.everythingNew(undefined, { largeFirstPage: 100 });
      expect(seqsOf(viaWs.large.find((l) => l.conversation_id === busy)?.messages)).toEqual(Array.from({ length: 12 }, (_, i) => i + 4));
      expect(viaWs.large.find((l) => l.conversation_id === busy)?.has_more).toBe(false);
    } finally {
      chat.close();
    }
  });

  it('gives the reply budget to the inbox first: pages of a round cut by bytes carry no first pages; the last one carries what still fits, the rest has_more', async () => {
    const members = users('B', 51);
    const [owner, reader] = [members[0]!, members[1]!];
    const large = await group(owner, members.slice(1));
    const small = await group(owner, [reader]);
    const ownerWs = await connect(owner);
    const big = (i: number) => `${i} ${'x'.repeat(15_000)}`;
    // About 300 KB of inbox messages (more than one reply budget) and 40 large messages of 15 KB.
    await sendAll(ownerWs, small, 's', 20, big);
    await sendAll(ownerWs, large, 'l', 40, big);
    await lastSeqIs(owner, large, 40);
    await waitFor(async () => (await countInboxRows(sys.cassandra, small, [reader])) === 20, 30_000, 'inbox rows');

    const readerWs = await connect(reader);
    const pages: InboxResultFrame[] = [];
    let cursor: string | undefined;
    do {
      pages.push(await readerWs.request<InboxResultFrame>({ type: 'inbox', large_first_page: 100, ...(cursor ? { cursor } : {}) }));
      cursor = pages.at(-1)!.cursor;
    } while (pages.at(-1)!.has_more && pages.length < 20);
    expect(pages.length).toBeGreaterThan(1);
    for (const p of pages.slice(0, -1)) expect(largeEntry(p, large)).toEqual({ conversation_id: large, epoch: expect.any(String), last_seq: 40 });
    expect(seqsOf(pages.flatMap((p) => p.messages).filter((m) => m.conversation_id === small))).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    const last = largeEntry(pages.at(-1)!, large)!;
    // The reply budget (a quarter of the default 1 MiB socket buffer) holds fewer than 40 such messages.
    expect(last).toMatchObject({ after_seq: 0, has_more: true });
    const got = seqsOf(last.messages);
    expect(got.length).toBeLessThan(40);
    expect(got).toEqual(Array.from({ length: got.length }, (_, i) => i + 1));
    expect(Buffer.byteLength(JSON.stringify(pages.at(-1)))).toBeLessThan(300 * 1024);
  });

  it('refuses a large_first_page outside 1..100 or not an integer with 4002, over WebSocket and REST', async () => {
    const [u] = users('V', 1);
    const ws = await connect(u!);
    for (const bad of [0, -1, 101, 1.5, '5', null, true]) {
      expect(await ws.request({ type: 'inbox', large_first_page: bad })).toMatchObject({ type: 'error', code: 4002, name: 'invalid_shape' });
    }
    for (const bad of ['0', '101', '05', '1.5', 'abc', '', '-3']) {
      const res = await sys.rest<{ error: { code: number } }>(u!, 'GET', `/v1/inbox?large_first_page=${bad}`);
      expect([res.status, res.body.error.code]).toEqual([400, 4002]);
    }
    // The connection stays usable.
    expect(await ws.request({ type: 'inbox', large_first_page: 100 })).toMatchObject({ type: 'inbox.result', large: [] });
  });
});
