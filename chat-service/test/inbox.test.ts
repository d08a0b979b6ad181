import cassandra from 'cassandra-driver';
import WebSocket from 'ws';
import { ChatClient, ChatRequestError, InboxClient, type ChatClientOptions } from '@chat/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AckFrame, ChatMessage, ConversationListPage, EverythingNew, InboxResultFrame, ReceiptFrame, ServerFrame } from '@chat/protocol';
import { countInboxRows } from './support/inbox-rows.js';
import { RawClient } from './support/raw-client.js';
import { startSystem, waitFor, type TestSystem } from './support/system.js';

/**
 * Poll interval of checks that make REST requests as one user:
 * a long poll stays under RATE_REST_PER_USER (300 per 10 s).
 */
const REST_POLL_MS = 250;

let sys: TestSystem;
const clients: RawClient[] = [];
const sdkClients: ChatClient[] = [];
const run = Math.random().toString(36).slice(2, 8);
const users = (name: string, n: number) => Array.from({ length: n }, (_, i) => `${name}${i}-${run}`);

async function group(owner: string, members: string[]): Promise<string> {
  const res = await sys.rest<{ conversation: { conversation_id: string } }>(owner, 'POST', '/v1/conversations', {
    kind: 'group',
    title: 't',
    member_ids: members,
  });
  expect(res.status).toBe(201);
  return res.body.conversation.conversation_id;
}

async function sendAll(userId: string, conv: string, count: number): Promise<AckFrame[]> {
  const c = await RawClient.connect(sys.gateways[0]!.url, sys.token(userId));
  clients.push(c);
  const acks: AckFrame[] = [];
  for (let i = 0; i < count; i++) acks.push(await c.request<AckFrame>({ type: 'send', conversation_id: conv, client_msg_id: `m${i}`, body: `hello ${i}` }));
  expect(acks.every((a) => a.type === 'ack')).toBe(true);
  return acks;
}

/** Inbox rows of a conversation across its members' partitions, counted with CQL. */
const inboxRows = (conv: string, members: string[]) => countInboxRows(sys.cassandra, conv, members);

beforeAll(async () => {
  sys = await startSystem(2, { roles: 'api,sequencer,inbox' });
}, 180_000);

afterAll(async () => {
  for (const c of clients) c.close();
  for (const c of sdkClients) c.close();
  await sys?.close();
});

describe('fanout on write for small conversations, on read for large ones', () => {
  it('writes one inbox row per member and message at 3 and 50 members, none at 51, and serves everything new from the inbox', async () => {
    const small = users('a', 3);
    const at50 = users('b', 50);
    const at51 = users('c', 51);
    const [c3, c50, c51] = [await group(small[0]!, small.slice(1)), await group(at50[0]!, at50.slice(1)), await group(at51[0]!, at51.slice(1))];
    const n = 4;
    await sendAll(small[0]!, c3, n);
    await sendAll(at50[0]!, c50, n);
    await sendAll(at51[0]!, c51, n);
    await waitFor(async () => (await inboxRows(c3, small)) >= 3 * n && (await inboxRows(c50, at50)) >= 50 * n, 60_000, 'inbox rows');
    // Everything of c51 was sequenced (and passed the inbox writer) by the time the list shows it.
    await waitFor(
      async () => (await sys.rest<ConversationListPage>(at51[1]!, 'GET', '/v1/conversation-list')).body.conversations[0]?.last_seq === n,
      30_000,
      'large conversation listed',
    );
    expect(await inboxRows(c3, small)).toBe(3 * n);
    expect(await inboxRows(c50, at50)).toBe(50 * n);
    expect(await inboxRows(c51, at51)).toBe(0);

    // An offline member's app start: the small conversation's messages in order, the large one's latest seq.
    const newForMe = await sys.rest<EverythingNew>(small[2]!, 'GET', '/v1/inbox');
    expect(newForMe.status).toBe(200);
    expect(newForMe.body.messages.map((m) => [m.conversation_id, m.seq, m.body])).toEqual(Array.from({ length: n }, (_, i) => [c3, i + 1, `hello ${i}`]));
    expect(newForMe.body.large).toEqual([]);
    const largeMember = await sys.rest<EverythingNew>(at51[5]!, 'GET', '/v1/inbox');
    expect(largeMember.body.messages).toEqual([]);
    expect(largeMember.body.large).toEqual([expect.objectContaining({ conversation_id: c51, last_seq: n })]);

    // Rows carry their message; a row without one (written before migration 012) is read from the conversation.
    const today = Math.floor(Date.now() / 86_400_000);
    const rows = await sys.cassandra.execute(
      'SELECT entry_ts, seq, message FROM inbox WHERE user_id = ? AND day = ? AND conversation_id = ? ALLOW FILTERING',
      [small[2]!, today, cassandra.types.Long.fromString(c3)],
      { prepare: true },
    );
    expect(rows.rows.map((r) => JSON.parse(r.message as string).body)).toEqual(Array.from({ length: n }, (_, i) => `hello ${i}`));
    const second = rows.rows.find((r) => Number(r.seq) === 2)!;
    await sys.cassandra.execute(
      'UPDATE inbox SET message = null WHERE user_id = ? AND day = ? AND entry_ts = ? AND conversation_id = ? AND seq = ?',
      [small[2]!, today, second.entry_ts, cassandra.types.Long.fromString(c3), cassandra.types.Long.fromNumber(2)],
      { prepare: true },
    );
    expect((await sys.rest<EverythingNew>(small[2]!, 'GET', '/v1/inbox')).body.messages).toEqual(newForMe.body.messages);

    // The cursor moves on: nothing new but the look-back, which the client drops by seq.
    const again = await sys.rest<EverythingNew>(small[2]!, 'GET', `/v1/inbox?cursor=${newForMe.body.cursor}`);
    expect(again.status).toBe(200);
    expect(again.body.messages.every((m) => m.seq <= n)).toBe(true);
  });

  it('serves everything new over WebSocket as over REST: pages cut by bytes and by entries move on (has_more), each message once per round, in inbox order', async () => {
    const [reader, s1, s2] = users('w', 3);
    const conv = await group(s1!, [reader!, s2!]);
    // More than one REST page (500 entries) and more than one reply budget (a quarter of the socket buffer) of bytes.
    const big = 'x'.repeat(15_000);
    const senders = await Promise.all([s1!, s2!].map((u) => RawClient.connect(sys.gateways[0]!.url, sys.token(u))));
    clients.push(...senders);
    const total = 540;
    for (let i = 0; i < total; i++) {
      const ack = await senders[i % 2]!.request<AckFrame>({
        type: 'send',
        conversation_id: conv,
        client_msg_id: `w${i}`,
        body: i % 18 === 0 ? big : `small ${i}`,
      });
      expect(ack.type).toBe('ack');
    }
    await waitFor(async () => (await inboxRows(conv, [reader!])) === total, 60_000, 'inbox rows');

    const ws = await RawClient.connect(sys.gateways[1]!.url, sys.token(reader!));
    clients.push(ws);
    const round = async (fetchPage: (cursor: string | undefined) => Promise<EverythingNew>, first?: string) => {
      const pages: EverythingNew[] = [];
      let cursor = first;
      do {
        pages.push(await fetchPage(cursor));
        cursor = pages.at(-1)!.cursor;
      } while (pages.at(-1)!.has_more && pages.length < 50);
      return { pages, messages: pages.flatMap((p) => p.messages), cursor: cursor! };
    };
    const overWs = await round(async (cursor) => {
      const r = await ws.request<InboxResultFrame>({ type: 'inbox', ...(cursor ? { cursor } : {}) });
      expect(r.type).toBe('inbox.result');
      return r;
    });
    const overRest = await round(async (cursor) => (await sys.rest<EverythingNew>(reader!, 'GET', `/v1/inbox${cursor ? `?cursor=${cursor}` : ''}`)).body);
    const seqs = (ms: ChatMessage[]) => ms.filter((m) => m.conversation_id === conv).map((m) => m.seq);
    const all = Array.from({ length: total }, (_, i) => i + 1);
    // Within a round of pages nothing repeats and nothing is skipped.
    expect(seqs(overWs.messages)).toEqual(all);
    expect(seqs(overRest.messages)).toEqual(all);
    expect(overRest.pages.length).toBe(2); // 500 entries, then the rest
    // Each WebSocket reply fits the gateway's reply budget (a quarter of WS_MAX_BACKPRESSURE_BYTES, 256 KiB) apart from its first message.
    expect(overWs.pages.length).toBeGreaterThanOrEqual(3);
    for (const p of overWs.pages) expect(JSON.stringify(p).length - JSON.stringify(p.messages[0] ?? '').length).toBeLessThanOrEqual(256 * 1024);
    expect(overWs.pages.slice(0, -1).every((p) => p.has_more)).toBe(true);
    expect(overWs.messages.find((m) => m.seq === 1)?.body).toBe(big);

    // The next round (the app starting again) gets only the look-back, and one message sent since.
    await senders[0]!.request<AckFrame>({ type: 'send', conversation_id: conv, client_msg_id: 'after', body: 'after' });
    await waitFor(async () => (await inboxRows(conv, [reader!])) === total + 1, 30_000, 'inbox row of the new message');
    const next = await round(
      async (cursor) => (await ws.request<InboxResultFrame>({ type: 'inbox', ...(cursor ? { cursor } : {}) })) as EverythingNew,
      overWs.cursor,
    );
    expect(seqs(next.messages)).toContain(total + 1);
    expect(seqs(next.messages).filter((s) => s > total)).toEqual([total + 1]);

    // Cursors the server did not issue: 4002 on both paths, nothing read.
    const forged = Buffer.from(JSON.stringify({ t: 1, k: [1, '007', 1] })).toString('base64url');
    expect(await ws.request({ type: 'inbox', cursor: forged })).toMatchObject({ type: 'error', code: 4002 });
    expect(await ws.request({ type: 'inbox', cursor: 'a b' })).toMatchObject({ type: 'error', code: 4002 });
    expect((await sys.rest(reader!, 'GET', `/v1/inbox?cursor=${forged}`)).status).toBe(400);
  });

  it('keeps the conversation list ordered by last activity with preview, read position, unread count and mute', async () => {
    const [me, x, y] = users('l', 3);
    const first = await group(x!, [me!]);
    const second = await group(y!, [me!]);
    await sendAll(x!, first, 3);
    await sendAll(y!, second, 2);
    await waitFor(
      async () => {
        const list = (await sys.rest<ConversationListPage>(me!, 'GET', '/v1/conversation-list')).body.conversations;
        return list.length === 2 && list[0]!.last_seq === 2 && list[1]!.last_seq === 3;
      },
      30_000,
      'list rows',
    );
    const list = (await sys.rest<ConversationListPage>(me!, 'GET', '/v1/conversation-list')).body.conversations;
    expect(list.map((c) => [c.conversation_id, c.unread, c.read_seq, c.preview?.body, c.muted, c.fanout])).toEqual([
      [second, 2, 0, 'hello 1', false, 'write'],
      [first, 3, 0, 'hello 2', false, 'write'],
    ]);
    // The sender has read their own messages.
    const senderView = (await sys.rest<ConversationListPage>(x!, 'GET', '/v1/conversation-list')).body.conversations;
    expect(senderView[0]).toMatchObject({ conversation_id: first, read_seq: 3, unread: 0 });

    // Read positions only move forward; mute is per user and conversation.
    expect((await sys.rest<{ read_seq: number }>(me!, 'PUT', `/v1/conversations/${first}/read`, { seq: 2 })).body.read_seq).toBe(2);
    expect((await sys.rest<{ read_seq: number }>(me!, 'PUT', `/v1/conversations/${first}/read`, { seq: 1 })).body.read_seq).toBe(2);
    expect((await sys.rest(me!, 'PUT', `/v1/conversations/${second}/mute`, { muted: true })).status).toBe(200);
    const page1 = (await sys.rest<ConversationListPage>(me!, 'GET', '/v1/conversation-list?limit=1')).body;
    expect(page1.conversations.map((c) => [c.conversation_id, c.muted])).toEqual([[second, true]]);
    const page2 = (await sys.rest<ConversationListPage>(me!, 'GET', `/v1/conversation-list?limit=1&cursor=${page1.next_cursor}`)).body;
    expect(page2.conversations.map((c) => [c.conversation_id, c.read_seq, c.unread])).toEqual([[first, 2, 1]]);
    expect(page2.next_cursor).toBeUndefined();
    // A non-member can neither read nor mute.
    expect((await sys.rest(y!, 'PUT', `/v1/conversations/${first}/read`, { seq: 1 })).status).toBe(403);
  });

  it("stores read positions from the read frame; the reader's devices and small groups get receipts, large ones only the reader; unread agrees after a reconnect", async () => {
    const small = users('r', 3);
    const big = users('R', 51);
    const [cs, cb] = [await group(small[1]!, [small[0]!, small[2]!]), await group(big[1]!, [...big.slice(2), small[0]!])];
    await sendAll(small[1]!, cs, 5);
    await sendAll(big[1]!, cb, 5);
    const me = small[0]!;
    // Acks say a message is in Kafka; read positions are capped at what is stored, so wait for it.
    await waitFor(
      async () => {
        const list = (await sys.rest<ConversationListPage>(me, 'GET', '/v1/conversation-list')).body.conversations;
        return list.length === 2 && list.every((c) => c.last_seq === 5);
      },
      30_000,
      'both conversations sequenced',
    );
    const phone = await RawClient.connect(sys.gateways[0]!.url, sys.token(me));
    const laptop = await RawClient.connect(sys.gateways[1]!.url, sys.token(me));
    const other = await RawClient.connect(sys.gateways[1]!.url, sys.token(small[2]!));
    const bigOther = await RawClient.connect(sys.gateways[0]!.url, sys.token(big[3]!));
    clients.push(phone, laptop, other, bigOther);
    const receipts = (c: RawClient, conv: string) =>
      c.frames.filter((f): f is ReceiptFrame => f.type === 'receipt' && f.conversation_id === conv && f.ref === undefined);

    const reply = await phone.request<ReceiptFrame>({ type: 'read', conversation_id: cs, seq: 3 });
    expect(reply).toMatchObject({ type: 'receipt', conversation_id: cs, user_id: me, seq: 3 });
    await waitFor(() => receipts(laptop, cs).length === 1 && receipts(other, cs).length === 1, 15_000, 'receipts in the small group');
    expect(receipts(other, cs)[0]).toMatchObject({ user_id: me, seq: 3 });
    // A lower position from the other device changes nothing and says so.
    expect((await laptop.request<ReceiptFrame>({ type: 'read', conversation_id: cs, seq: 1 })).seq).toBe(3);

    expect((await laptop.request<ReceiptFrame>({ type: 'read', conversation_id: cb, seq: 4 })).seq).toBe(4);
    await waitFor(() => receipts(phone, cb).length === 1, 15_000, "receipt on the reader's other device");
    await new Promise((r) => setTimeout(r, 300)); // a receipt to the large group would have arrived by now
    expect(receipts(bigOther, cb)).toEqual([]);

    // Both devices see the same unread counts, also after reconnecting.
    laptop.close();
    const again = await RawClient.connect(sys.gateways[0]!.url, sys.token(me));
    clients.push(again);
    const list = (await sys.rest<ConversationListPage>(me, 'GET', '/v1/conversation-list')).body.conversations;
    const byId = new Map(list.map((c) => [c.conversation_id, c]));
    expect([byId.get(cs)?.read_seq, byId.get(cs)?.unread, byId.get(cb)?.read_seq, byId.get(cb)?.unread, byId.get(cb)?.fanout]).toEqual([3, 2, 4, 1, 'read']);
    expect((await again.request<ReceiptFrame>({ type: 'read', conversation_id: cs, seq: 0 })).seq).toBe(3);
  });

  it('grows 50 -> 51 while messages flow: everything new plus the large listing loses and repeats nothing; the added member starts at the join point; a removed one gets nothing more', async () => {
    const members = users('g', 50);
    const owner = members[0]!;
    const conv = await group(owner, members.slice(1));
    const c = await RawClient.connect(sys.gateways[1]!.url, sys.token(owner));
    clients.push(c);
    const total = 60;
    let sent = 0;
    const sending = (async () => {
      for (; sent < total; sent++)
        expect((await c.request<AckFrame>({ type: 'send', conversation_id: conv, client_msg_id: `g${sent}`, body: `m${sent}` })).type).toBe('ack');
    })();
    // Grow while messages flow, once the first ones went through the inbox writer.
    await waitFor(async () => sent >= 20 && (await inboxRows(conv, [members[1]!])) >= 10, 30_000, 'first messages fanned out on write');
    const newcomer = `newcomer-${run}`;
    expect((await sys.rest(owner, 'POST', `/v1/conversations/${conv}/members`, { user_ids: [newcomer] })).status).toBe(200);
    const seqAtJoin = sent;
    await sending;
    await waitFor(
      async () => (await sys.rest<ConversationListPage>(newcomer, 'GET', '/v1/conversation-list')).body.conversations[0]?.last_seq === total,
      30_000,
      'all sequenced',
    );

    for (const u of [members[1]!, members[49]!]) {
      const seen: number[] = [];
      let cursor: string | undefined;
      let large: EverythingNew['large'] = [];
      for (;;) {
        const r = (await sys.rest<EverythingNew>(u, 'GET', `/v1/inbox${cursor ? `?cursor=${cursor}` : ''}`)).body;
        seen.push(...r.messages.filter((m) => m.conversation_id === conv).map((m) => m.seq));
        large = r.large;
        cursor = r.cursor;
        if (!r.has_more) break;
      }
      // The inbox holds a gap-free prefix, each message once; the rest is announced as a large conversation to sync.
      // (Messages the writer handled after the add went the large way, however early they were sent.)
      expect(seen).toEqual(Array.from({ length: seen.length }, (_, i) => i + 1));
      expect(seen.length).toBeGreaterThanOrEqual(10);
      expect(large).toEqual([expect.objectContaining({ conversation_id: conv, last_seq: total })]);
    }
    expect(await inboxRows(conv, [newcomer])).toBe(0);
    const newcomerView = (await sys.rest<ConversationListPage>(newcomer, 'GET', '/v1/conversation-list')).body.conversations[0]!;
    // The join point is the last seq stored when the member was added: at most what was acked by then.
    expect(newcomerView.read_seq).toBeLessThanOrEqual(seqAtJoin + 1);
    expect(newcomerView.unread).toBe(total - newcomerView.read_seq);

    // Removal takes effect at once: nothing more in everything new or the list, no read position accepted.
    const leaver = members[7]!;
    expect((await sys.rest(owner, 'DELETE', `/v1/conversations/${conv}/members/${leaver}`)).status).toBe(200);
    const after = (await sys.rest<EverythingNew>(leaver, 'GET', '/v1/inbox')).body;
    expect(after.messages.filter((m) => m.conversation_id === conv)).toEqual([]);
    expect(after.large).toEqual([]);
    expect((await sys.rest<ConversationListPage>(leaver, 'GET', '/v1/conversation-list')).body.conversations).toEqual([]);
    expect((await sys.rest(leaver, 'PUT', `/v1/conversations/${conv}/read`, { seq: total })).status).toBe(403);
  });

  it('membership: an added member reads from the join point in history, sync, everything new and the list, in small and large groups; a removed member reads nothing more; a member who comes back starts again at the new join point', async () => {
    const [owner, stayer, leaver] = users('j', 3);
    const smallConv = await group(owner!, [stayer!, leaver!]);
    const bigMembers = users('J', 51);
    const bigConv = await group(bigMembers[0]!, bigMembers.slice(1));
    const [ownerWs, bigOwnerWs] = [
      await RawClient.connect(sys.gateways[0]!.url, sys.token(owner!)),
      await RawClient.connect(sys.gateways[0]!.url, sys.token(bigMembers[0]!)),
    ];
    clients.push(ownerWs, bigOwnerWs);
    const sendTo = async (ws: RawClient, conv: string, tag: string) =>
      expect((await ws.request<AckFrame>({ type: 'send', conversation_id: conv, client_msg_id: tag, body: tag })).type).toBe('ack');
    const lastSeqIs = async (userId: string, conv: string, seq: number) =>
      waitFor(
        async () =>
          (await sys.rest<ConversationListPage>(userId, 'GET', '/v1/conversation-list')).body.conversations.find((c) => c.conversation_id === conv)
            ?.last_seq === seq,
        30_000,
        `seq ${seq} stored`,
      );
    for (let i = 1; i <= 5; i++) {
      await sendTo(ownerWs, smallConv, `s${i}`);
      await sendTo(bigOwnerWs, bigConv, `b${i}`);
    }
    await lastSeqIs(owner!, smallConv, 5);
    await lastSeqIs(bigMembers[0]!, bigConv, 5);
    await waitFor(async () => (await inboxRows(smallConv, [leaver!])) === 5, 30_000, 'leaver fanned out to');

    const newcomer = `joiner-${run}`;
    for (const [o, conv] of [
      [owner!, smallConv],
      [bigMembers[0]!, bigConv],
    ] as const) {
      expect((await sys.rest(o, 'POST', `/v1/conversations/${conv}/members`, { user_ids: [newcomer] })).status).toBe(200);
    }
    const detail = await sys.rest<{ members: { user_id: string; joined_seq: number }[] }>(owner!, 'GET', `/v1/conversations/${smallConv}`);
    expect(detail.body.members.find((m) => m.user_id === newcomer)?.joined_seq).toBe(5);
    const ws = await RawClient.connect(sys.gateways[1]!.url, sys.token(newcomer));
    clients.push(ws);
    const seqsOf = (ms: ChatMessage[]) => ms.map((m) => m.seq);
    const syncFrom0 = async (conv: string) =>
      (await ws.request<Extract<ServerFrame, { type: 'sync.result' }>>({ type: 'sync', positions: [{ conversation_id: conv, seq: 0 }] })).conversations[0]!;
    // Nothing before the join point, however it is asked for.
    for (const conv of [smallConv, bigConv]) {
      for (const q of [{}, { before: 4 }, { after: 0 }, { after: 2, before: 5 }]) {
        const page = await ws.request<Extract<ServerFrame, { type: 'history.result' }>>({ type: 'history', conversation_id: conv, ...q });
        expect([page.type, page.messages, page.has_more]).toEqual(['history.result', [], false]);
      }
      const rest = await sys.rest<{ messages: ChatMessage[]; has_more: boolean }>(newcomer, 'GET', `/v1/conversations/${conv}/messages`);
      expect([rest.status, rest.body.messages, rest.body.has_more]).toEqual([200, [], false]);
      expect(await syncFrom0(conv)).toMatchObject({ status: 'ok', last_seq: 5, messages: [] });
    }
    expect((await sys.rest<ConversationListPage>(newcomer, 'GET', '/v1/conversation-list')).body.conversations.map((c) => [c.preview, c.unread])).toEqual([
      [null, 0],
      [null, 0],
    ]);

    // The owner removes a member; messages 6 and 7 follow; the member comes back; message 8.
    expect((await sys.rest(owner!, 'DELETE', `/v1/conversations/${smallConv}/members/${leaver}`)).status).toBe(200);
    const leaverWs = await RawClient.connect(sys.gateways[0]!.url, sys.token(leaver!));
    clients.push(leaverWs);
    for (const tag of ['s6', 's7']) await sendTo(ownerWs, smallConv, tag);
    for (const tag of ['b6', 'b7']) await sendTo(bigOwnerWs, bigConv, tag);
    await lastSeqIs(owner!, smallConv, 7);
    await lastSeqIs(bigMembers[0]!, bigConv, 7);
    expect(await leaverWs.request({ type: 'history', conversation_id: smallConv, after: 5 })).toMatchObject({ type: 'error', code: 4003 });
    expect(
      (await leaverWs.request<Extract<ServerFrame, { type: 'sync.result' }>>({ type: 'sync', positions: [{ conversation_id: smallConv, seq: 5 }] }))
        .conversations[0],
    ).toMatchObject({ status: 'resync', reason: 'not_member', messages: [] });
    expect((await sys.rest(leaver!, 'GET', `/v1/conversations/${smallConv}/messages?after=5`)).status).toBe(403);
    expect((await sys.rest(owner!, 'POST', `/v1/conversations/${smallConv}/members`, { user_ids: [leaver] })).status).toBe(200);
    await sendTo(ownerWs, smallConv, 's8');
    await lastSeqIs(owner!, smallConv, 8);
    await waitFor(async () => (await inboxRows(smallConv, [leaver!])) === 6, 30_000, 'the returning member fanned out to again');

    // The newcomer: everything after the join point, in every path.
    expect(seqsOf((await ws.request<Extract<ServerFrame, { type: 'history.result' }>>({ type: 'history', conversation_id: smallConv })).messages)).toEqual([
      6, 7, 8,
    ]);
    expect(seqsOf((await syncFrom0(bigConv)).messages)).toEqual([6, 7]);
    const newcomerInbox = await ws.request<InboxResultFrame>({ type: 'inbox' });
    expect(seqsOf(newcomerInbox.messages.filter((m) => m.conversation_id === smallConv))).toEqual([6, 7, 8]);
    expect(newcomerInbox.large).toEqual([expect.objectContaining({ conversation_id: bigConv, last_seq: 7 })]);
    // The returning member: only what came after coming back (its inbox still holds 1..5 from before).
    const back = await leaverWs.request<InboxResultFrame>({ type: 'inbox' });
    expect(seqsOf(back.messages.filter((m) => m.conversation_id === smallConv))).toEqual([8]);
    expect(
      seqsOf((await leaverWs.request<Extract<ServerFrame, { type: 'history.result' }>>({ type: 'history', conversation_id: smallConv, after: 0 })).messages),
    ).toEqual([8]);
    expect(
      seqsOf(
        (await leaverWs.request<Extract<ServerFrame, { type: 'sync.result' }>>({ type: 'sync', positions: [{ conversation_id: smallConv, seq: 3 }] }))
          .conversations[0]!.messages,
      ),
    ).toEqual([8]);
    // The stayer is unaffected: every message.
    expect(seqsOf((await sys.rest<{ messages: ChatMessage[] }>(stayer!, 'GET', `/v1/conversations/${smallConv}/messages`)).body.messages)).toEqual([
      1, 2, 3, 4, 5, 6, 7, 8,
    ]);
  });

  it('read counts on request, in place of receipts in large groups: current members at or past a seq, members only, only seqs the caller can read', async () => {
    const members = users('k', 51);
    const [owner, a, b, c] = members;
    const conv = await group(owner!, members.slice(1));
    await sendAll(owner!, conv, 5);
    const count = (userId: string, seq: number | string) =>
      sys.rest<{ conversation_id: string; seq: number; read_count: number; members: number }>(
        userId,
        'GET',
        `/v1/conversations/${conv}/messages/${seq}/read-count`,
      );
    // The sender's own position follows their messages (the inbox writer stores it).
    await waitFor(async () => (await count(a!, 5)).body.read_count === 1, 30_000, 'the sender counted', REST_POLL_MS);
    for (const [u, seq] of [
      [a!, 3],
      [b!, 5],
      [c!, 1],
    ] as const)
      expect((await sys.rest(u, 'PUT', `/v1/conversations/${conv}/read`, { seq })).status).toBe(200);
    const expected = [
      [1, 4],
      [2, 3],
      [3, 3],
      [4, 2],
      [5, 2],
    ];
    // Counts may lag by READ_COUNT_CACHE_MS: poll until they agree.
    await waitFor(
      async () => {
        const got = await Promise.all(expected.map(async ([seq]) => [seq, (await count(members[9]!, seq!)).body.read_count]));
        return JSON.stringify(got) === JSON.stringify(expected);
      },
      15_000,
      'read counts',
      REST_POLL_MS,
    );
    expect((await count(members[9]!, 4)).body).toEqual({ conversation_id: conv, seq: 4, read_count: 2, members: 51 });
    // The same through the SDK's InboxClient (typed REST).
    const sdkInbox = new InboxClient({ baseUrl: sys.chatUrl, getToken: () => sys.token(members[9]!) });
    expect(await sdkInbox.readCount(conv, 4)).toEqual({ conversation_id: conv, seq: 4, read_count: 2, members: 51 });
    expect((await sdkInbox.conversationList({ limit: 1 })).conversations[0]).toMatchObject({ conversation_id: conv, last_seq: 5, fanout: 'read' });
    expect(await sdkInbox.markRead(conv, 2)).toBe(2);
    await expect(sdkInbox.readCount(conv, 6)).rejects.toMatchObject({ code: 4004 });
    await expect(sdkInbox.readCount(conv, 6)).rejects.toBeInstanceOf(ChatRequestError);

    // A member who leaves stops counting.
    expect((await sys.rest(owner!, 'DELETE', `/v1/conversations/${conv}/members/${b}`)).status).toBe(200);
    await waitFor(async () => (await count(members[9]!, 5)).body.read_count === 1, 15_000, 'a removed member no longer counted', REST_POLL_MS);
    expect((await count(members[9]!, 5)).body.members).toBe(50);

    // Members only; seqs that name no message the caller can read are 404; malformed seqs too.
    expect((await count(b!, 1)).status).toBe(403);
    expect((await count(`stranger-${run}`, 1)).status).toBe(403);
    for (const seq of [6, 0, '01', '-1', '1e3', '9007199254740993', 'x']) expect([seq, (await count(a!, seq)).status]).toEqual([seq, 404]);
    const newcomer = `counter-${run}`;
    expect((await sys.rest(owner!, 'POST', `/v1/conversations/${conv}/members`, { user_ids: [newcomer] })).status).toBe(200);
    expect((await count(newcomer, 5)).status).toBe(404); // before its join point
    const ownerWs = await RawClient.connect(sys.gateways[0]!.url, sys.token(owner!));
    clients.push(ownerWs);
    expect((await ownerWs.request<AckFrame>({ type: 'send', conversation_id: conv, client_msg_id: 'sixth', body: 'sixth' })).type).toBe('ack');
    await waitFor(async () => (await count(newcomer, 6)).status === 200, 15_000, 'the first message after joining', REST_POLL_MS);
  });

  it('SDK: unread counts agree on two devices of one user and survive a reconnect', async () => {
    const [me, friend] = users('sdk', 2);
    const created = await sys.rest<{ conversation: { conversation_id: string } }>(friend!, 'POST', '/v1/conversations', { kind: 'direct', user_id: me });
    const conv = created.body.conversation.conversation_id;
    const sdk = (url: string) => {
      const c = new ChatClient({
        url,
        getToken: () => sys.token(me!),
        WebSocketImpl: WebSocket as unknown as ChatClientOptions['WebSocketImpl'],
        reconnectBaseMs: 50,
      });
      sdkClients.push(c);
      return c;
    };
    const [phone, laptop] = [sdk(sys.gateways[0]!.url), sdk(sys.gateways[1]!.url)];
    for (const c of [phone, laptop]) c.track(conv, 0);
    await Promise.all([phone.connect(), laptop.connect()]);
    await sendAll(friend!, conv, 4);
    await waitFor(() => phone.unreadCount(conv) === 4 && laptop.unreadCount(conv) === 4, 15_000, 'unread on both devices');
    const totals: number[] = [];
    laptop.on('unread', (_id, _n, total) => totals.push(total));
    expect(await phone.markRead(conv, 3)).toBe(3);
    await waitFor(() => laptop.unreadCount(conv) === 1, 15_000, 'the read reaches the other device');
    expect([phone.unreadCount(conv), phone.totalUnread(), laptop.totalUnread(), totals]).toEqual([1, 1, 1, [1]]);

    // A new session (reconnect, or a new device) starts from the list and agrees. The list's rows
    // of small conversations are written by the inbox writer, behind real-time delivery: seed from
    // the list once it holds the fourth message.
    laptop.close();
    const again = sdk(sys.gateways[0]!.url);
    await again.connect();
    let list: ConversationListPage['conversations'] = [];
    await waitFor(
      async () => {
        list = (await sys.rest<ConversationListPage>(me!, 'GET', '/v1/conversation-list')).body.conversations;
        return list.some((c) => c.conversation_id === conv && c.last_seq === 4);
      },
      15_000,
      'the list row of the fourth message',
    );
    again.seedReadState(list);
    expect([again.unreadCount(conv), again.totalUnread()]).toEqual([1, 1]);
  });
});
