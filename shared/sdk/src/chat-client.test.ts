import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CloseCodes } from '@chat/protocol';
import type { ChatMessage, ConversationSync, ServerFrame } from '@chat/protocol';
import { ChatClient, type ChatClientOptions, type CloseInfo, type ResyncInfo } from './chat-client.js';
import { ChatClosedError, ChatGapError, ChatRequestError } from './errors.js';
import type { WebSocketCloseEventLike, WebSocketLike, WebSocketMessageEventLike } from './transport.js';

/** In-memory WebSocket: the test plays the server through accept/push/drop. */
class FakeSocket implements WebSocketLike {
  static all: FakeSocket[] = [];
  readyState = 0;
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: WebSocketMessageEventLike) => void) | null = null;
  onclose: ((ev: WebSocketCloseEventLike) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  readonly sent: Record<string, unknown>[] = [];
  closedByClient: { code?: number; reason?: string } | undefined;

  constructor(
    readonly url: string,
    readonly protocols?: string | string[],
  ) {
    FakeSocket.all.push(this);
  }

  send(data: string): void {
    if (this.readyState !== 1) throw new Error('not open');
    this.sent.push(JSON.parse(data) as Record<string, unknown>);
  }
  close(code?: number, reason?: string): void {
    this.readyState = 3;
    this.closedByClient = { code, reason };
  }

  // ---- server side
  accept(): void {
    this.readyState = 1;
    this.onopen?.({});
    this.push({ type: 'hello', protocol: 1, user_id: 'u1', connection_id: `conn${FakeSocket.all.indexOf(this)}`, gateway_id: 'g1' });
  }
  push(frame: ServerFrame | Record<string, unknown>): void {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }
  drop(code = 1006, reason = ''): void {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }
  ofType(type: string): Record<string, any>[] {
    return this.sent.filter((f) => f.type === type);
  }
}

function sock(i: number): FakeSocket {
  const s = FakeSocket.all[i];
  if (!s) throw new Error(`no socket #${i}`);
  return s;
}

const CONV = '100';
function msg(seq: number, epoch = 'e1', conversation_id = CONV): ChatMessage {
  return {
    conversation_id,
    message_id: `m${conversation_id}-${epoch}-${seq}`,
    seq,
    epoch,
    sender_id: 'u2',
    client_msg_id: `c${seq}`,
    body: `hi ${seq}`,
    created_at: seq,
  };
}
const frame = (m: ChatMessage): ServerFrame => ({ type: 'message', ...m });

function setup(overrides: Partial<ChatClientOptions> = {}) {
  const getToken = vi.fn(() => `tok${getToken.mock.calls.length}`);
  const client = new ChatClient({
    url: ['ws://a/ws', 'ws://b/ws'],
    getToken,
    WebSocketImpl: FakeSocket,
    random: () => 0.5,
    ...overrides,
  });
  const messages: ChatMessage[] = [];
  const closes: CloseInfo[] = [];
  const resyncs: ResyncInfo[] = [];
  const errors: Error[] = [];
  client.on('message', (m) => messages.push(m));
  client.on('close', (c) => closes.push(c));
  client.on('resync', (r) => resyncs.push(r));
  client.on('error', (e) => errors.push(e));
  const seqs = () => messages.map((m) => `${m.conversation_id}:${m.seq}`);
  return { client, getToken, messages, closes, resyncs, errors, seqs };
}

const tick = (ms = 0) => vi.advanceTimersByTimeAsync(ms);

beforeEach(() => {
  FakeSocket.all = [];
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('ChatClient', () => {
  it('connects with the bearer subprotocol, sends and resolves with the ack', async () => {
    const { client } = setup();
    const opened = client.connect();
    await tick();
    const s = sock(0);
    expect(s.url).toBe('ws://a/ws');
    expect(s.protocols).toEqual(['bearer', 'tok1']);
    s.accept();
    await expect(opened).resolves.toMatchObject({ type: 'hello', user_id: 'u1' });
    expect(client.state).toBe('ready');

    const p = client.send(CONV, 'hello');
    const [send] = s.ofType('send');
    expect(send).toMatchObject({ conversation_id: CONV, body: 'hello' });
    expect(send?.client_msg_id).toMatch(/^[A-Za-z0-9._:-]{1,64}$/);
    s.push({ type: 'ack', ref: send?.ref, conversation_id: CONV, client_msg_id: send?.client_msg_id, message_id: '9', duplicate: false });
    await expect(p).resolves.toMatchObject({ type: 'ack', message_id: '9', client_msg_id: send?.client_msg_id });
    expect(client.pendingSends()).toEqual([]);
    client.close();
  });

  it('sends attachment ids with the message and keeps them on a resend; surfaces the attachments of received messages', async () => {
    const { client, messages } = setup();
    client.track(CONV, 0);
    void client.connect();
    await tick();
    sock(0).accept();
    await tick();
    const p = client.send(CONV, '', { attachmentIds: ['41', '42'] });
    expect(sock(0).ofType('send')[0]).toMatchObject({ body: '', attachment_ids: ['41', '42'] });
    expect(client.pendingSends()).toEqual([expect.objectContaining({ attachmentIds: ['41', '42'] })]);
    await expect(client.send(CONV, 'x', { attachmentIds: ['41', '41'] })).rejects.toThrow(TypeError);
    const photo = { attachment_id: '41', content_type: 'image/png', size: 10, filename: 'a.png' };
    sock(0).push(frame({ ...msg(1), attachments: [photo, { attachment_id: 42 } as unknown as typeof photo] }));
    await tick();
    expect(messages[0]?.attachments).toEqual([photo]);
    sock(0).drop();
    await tick(10_000);
    sock(1).accept();
    expect(sock(1).ofType('send')[0]).toMatchObject({ client_msg_id: sock(0).ofType('send')[0]?.client_msg_id, attachment_ids: ['41', '42'] });
    client.close();
    await expect(p).rejects.toThrow();
  });

  it('after a drop: reconnects with backoff to the next URL, syncs positions, resends unacked sends, emits once in order', async () => {
    const { client, getToken, closes, seqs } = setup();
    void client.connect();
    await tick();
    const s1 = sock(0);
    s1.accept();
    s1.push(frame(msg(1)));
    s1.push(frame(msg(2)));
    const acked = client.send(CONV, 'first', { clientMsgId: 'cm-1' });
    const pending = client.send(CONV, 'second', { clientMsgId: 'cm-2' });
    const [send1, send2] = s1.ofType('send');
    s1.push({ type: 'ack', ref: send1?.ref, conversation_id: CONV, client_msg_id: 'cm-1', message_id: '11', duplicate: false });
    await expect(acked).resolves.toMatchObject({ message_id: '11' });

    s1.drop(1006);
    expect(closes).toEqual([{ code: 1006, reason: '', willReconnect: true, reconnectInMs: 125 }]); // floor(0.5 * 250)
    await tick(124);
    expect(FakeSocket.all).toHaveLength(1);
    await tick(1);
    const s2 = sock(1);
    expect(s2.url).toBe('ws://b/ws');
    expect(getToken).toHaveBeenCalledTimes(2);
    expect(s2.protocols).toEqual(['bearer', 'tok2']);
    s2.accept();

    const [sync] = s2.ofType('sync');
    expect(sync?.positions).toEqual([{ conversation_id: CONV, seq: 2, epoch: 'e1' }]);
    const resent = s2.ofType('send');
    expect(resent.map((f) => f.client_msg_id)).toEqual(['cm-2']); // the acked one is not resent
    expect(resent[0]?.ref).not.toBe(send2?.ref);

    // A real-time message overtakes the sync result; the sync result repeats it.
    s2.push(frame(msg(4)));
    expect(seqs()).toEqual(['100:1', '100:2']);
    s2.push({
      type: 'sync.result',
      ref: sync?.ref,
      conversations: [{ conversation_id: CONV, epoch: 'e1', status: 'ok', last_seq: 4, messages: [msg(3), msg(4)] }],
    });
    await tick();
    s2.push(frame(msg(3)));
    expect(seqs()).toEqual(['100:1', '100:2', '100:3', '100:4']);
    expect(s2.ofType('history')).toEqual([]);
    expect(client.positions()).toEqual([{ conversation_id: CONV, seq: 4, epoch: 'e1' }]);

    s2.push({ type: 'ack', ref: resent[0]?.ref, conversation_id: CONV, client_msg_id: 'cm-2', message_id: '12', duplicate: true });
    await expect(pending).resolves.toMatchObject({ message_id: '12', duplicate: true });
    client.close();
  });

  it('fills a gap in real-time messages from history and emits in order', async () => {
    const { client, seqs } = setup({ gapFillPageSize: 2 });
    void client.connect();
    await tick();
    const s = sock(0);
    s.accept();
    s.push(frame(msg(1)));
    s.push(frame(msg(5)));
    s.push(frame(msg(4)));
    expect(seqs()).toEqual(['100:1']);
    const h1 = s.ofType('history');
    expect(h1).toEqual([{ type: 'history', ref: expect.any(String), conversation_id: CONV, after: 1, limit: 2 }]);
    s.push({ type: 'history.result', ref: h1[0]?.ref, conversation_id: CONV, messages: [msg(2), msg(3)], has_more: true });
    await tick();
    expect(seqs()).toEqual(['100:1', '100:2', '100:3', '100:4', '100:5']);
    expect(s.ofType('history')).toHaveLength(1);
    client.close();
  });

  it('pages until the gap is closed, and retries when storage lags behind real time', async () => {
    const { client, seqs } = setup({ gapFillPageSize: 2 });
    client.track(CONV, 10, 'e1');
    void client.connect();
    await tick();
    const s = sock(0);
    s.accept();
    const [sync] = s.ofType('sync');
    expect(sync?.positions).toEqual([{ conversation_id: CONV, seq: 10, epoch: 'e1' }]);
    s.push(frame(msg(14))); // arrives while sync is outstanding: no history yet
    expect(s.ofType('history')).toHaveLength(0);
    s.push({ type: 'sync.result', ref: sync?.ref, conversations: [{ conversation_id: CONV, epoch: 'e1', status: 'ok', last_seq: 11, messages: [msg(11)] }] });
    await tick();
    expect(seqs()).toEqual(['100:11']);
    let [h] = s.ofType('history');
    expect(h).toMatchObject({ after: 11, limit: 2 });
    s.push({ type: 'history.result', ref: h?.ref, conversation_id: CONV, messages: [], has_more: false }); // not stored yet
    await tick();
    expect(s.ofType('history')).toHaveLength(1);
    await tick(125); // backoff before retrying
    h = s.ofType('history')[1];
    expect(h).toMatchObject({ after: 11, limit: 2 });
    s.push({ type: 'history.result', ref: h?.ref, conversation_id: CONV, messages: [msg(12), msg(13)], has_more: true });
    await tick();
    expect(seqs()).toEqual(['100:11', '100:12', '100:13', '100:14']);
    client.close();
  });

  it('emits resync and adopts the server position', async () => {
    const { client, resyncs } = setup({ positions: [{ conversation_id: CONV, seq: 3, epoch: 'old' }] });
    void client.connect();
    await tick();
    const s = sock(0);
    s.accept();
    const [sync] = s.ofType('sync');
    s.push({
      type: 'sync.result',
      ref: sync?.ref,
      conversations: [{ conversation_id: CONV, epoch: 'e2', status: 'resync', reason: 'epoch_changed', last_seq: 50, messages: [] }],
    });
    await tick();
    expect(resyncs).toEqual([{ conversationId: CONV, reason: 'epoch_changed', epoch: 'e2', lastSeq: 50 }]);
    expect(client.positions()).toEqual([{ conversation_id: CONV, seq: 50, epoch: 'e2' }]);
    client.close();
  });

  it('rejects a send on a permanent error and retries a temporary one with the same client_msg_id', async () => {
    const { client } = setup();
    void client.connect();
    await tick();
    const s = sock(0);
    s.accept();
    const bad = client.send(CONV, 'x', { clientMsgId: 'bad' });
    const ok = client.send(CONV, 'y', { clientMsgId: 'later' });
    const [b, l] = s.ofType('send');
    s.push({ type: 'error', ref: b?.ref, code: 4003, name: 'not_member', message: 'no', retry: false });
    const err = await bad.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChatRequestError);
    expect(err).toMatchObject({ code: 4003, name: 'not_member', retry: false });

    s.push({ type: 'error', ref: l?.ref, code: 4101, name: 'unavailable', message: 'later', retry: true });
    await tick();
    expect(s.ofType('send')).toHaveLength(2);
    await tick(125);
    const retried = s.ofType('send')[2];
    expect(retried).toMatchObject({ client_msg_id: 'later', body: 'y' });
    s.push({ type: 'ack', ref: retried?.ref, conversation_id: CONV, client_msg_id: 'later', message_id: '5', duplicate: false });
    await expect(ok).resolves.toMatchObject({ message_id: '5' });
    client.close();
  });

  it('keeps at most maxSendsInFlight sends unanswered: the rest wait in order and go as replies come back', async () => {
    const { client } = setup({ maxSendsInFlight: 3 });
    void client.connect();
    await tick();
    const s = sock(0);
    s.accept();
    const acks = Array.from({ length: 7 }, (_, i) => client.send(CONV, `m${i}`, { clientMsgId: `w${i}` }));
    expect(s.ofType('send').map((f) => f.client_msg_id)).toEqual(['w0', 'w1', 'w2']);
    const ack = (f: Record<string, any>, id: string) =>
      s.push({ type: 'ack', ref: f.ref, conversation_id: CONV, client_msg_id: f.client_msg_id, message_id: id, duplicate: false });
    ack(s.ofType('send')[1]!, '1');
    await tick();
    expect(s.ofType('send').map((f) => f.client_msg_id)).toEqual(['w0', 'w1', 'w2', 'w3']);
    // A temporary refusal frees its slot while the send waits out its backoff.
    s.push({ type: 'error', ref: s.ofType('send')[0]!.ref, code: 4101, name: 'unavailable', message: 'later', retry: true });
    await tick();
    expect(s.ofType('send').map((f) => f.client_msg_id)).toEqual(['w0', 'w1', 'w2', 'w3', 'w4']);
    // A permanent refusal frees its slot too.
    s.push({ type: 'error', ref: s.ofType('send')[2]!.ref, code: 4003, name: 'not_member', message: 'no', retry: false });
    await expect(acks[2]).rejects.toBeInstanceOf(ChatRequestError);
    await tick();
    expect(s.ofType('send').map((f) => f.client_msg_id)).toEqual(['w0', 'w1', 'w2', 'w3', 'w4', 'w5']);
    // After a reconnect nothing is in flight: the window starts over, oldest first.
    s.drop();
    await tick(1000);
    const s2 = sock(1);
    s2.accept();
    await tick();
    expect(s2.ofType('send').map((f) => f.client_msg_id)).toEqual(['w0', 'w3', 'w4']);
    for (const f of s2.ofType('send'))
      s2.push({ type: 'ack', ref: f.ref, conversation_id: CONV, client_msg_id: f.client_msg_id, message_id: f.client_msg_id, duplicate: false });
    await tick();
    expect(s2.ofType('send').map((f) => f.client_msg_id)).toEqual(['w0', 'w3', 'w4', 'w5', 'w6']);
    for (const f of s2.ofType('send').slice(3))
      s2.push({ type: 'ack', ref: f.ref, conversation_id: CONV, client_msg_id: f.client_msg_id, message_id: f.client_msg_id, duplicate: false });
    await expect(Promise.all([acks[0], acks[1], acks[3], acks[4], acks[5], acks[6]])).resolves.toHaveLength(6);
    client.close();
  });

  it('item 11: a rate-limited send waits out retry_after_ms before it is sent again', async () => {
    const { client } = setup();
    void client.connect();
    await tick();
    const s = sock(0);
    s.accept();
    const sent = client.send(CONV, 'z', { clientMsgId: 'slow' });
    const [first] = s.ofType('send');
    s.push({ type: 'error', ref: first?.ref, code: 4100, name: 'rate_limited', message: 'slow down', retry: true, retry_after_ms: 3000 });
    await tick(2900); // far beyond the first backoff (~125 ms), within the hint
    expect(s.ofType('send')).toHaveLength(1);
    await tick(200);
    const retried = s.ofType('send')[1];
    expect(retried).toMatchObject({ client_msg_id: 'slow', body: 'z' });
    s.push({ type: 'ack', ref: retried?.ref, conversation_id: CONV, client_msg_id: 'slow', message_id: '9', duplicate: false });
    await expect(sent).resolves.toMatchObject({ message_id: '9' });
    client.close();
  });

  it('retransmits with the same client_msg_id after an ack timeout and accepts a late ack of the first try', async () => {
    const { client } = setup({ ackTimeoutMs: 1000 });
    void client.connect();
    await tick();
    const s = sock(0);
    s.accept();
    const p = client.send(CONV, 'slow', { clientMsgId: 'slow-1' });
    const [first] = s.ofType('send');
    await tick(1000);
    await tick(125);
    const [, second] = s.ofType('send');
    expect(second).toMatchObject({ client_msg_id: 'slow-1' });
    expect(second?.ref).not.toBe(first?.ref);
    s.push({ type: 'ack', ref: first?.ref, conversation_id: CONV, client_msg_id: 'slow-1', message_id: '77', duplicate: false });
    await expect(p).resolves.toMatchObject({ message_id: '77' });
    expect(client.pendingSends()).toEqual([]);
    await tick(60_000);
    expect(s.ofType('send')).toHaveLength(2);
    client.close();
  });

  it('a throwing message listener does not stop delivery; the exception is reported as an error', async () => {
    const { client, seqs, errors } = setup();
    client.on('message', () => {
      throw new Error('app bug');
    });
    void client.connect();
    await tick();
    const s = sock(0);
    s.accept();
    s.push(frame(msg(1)));
    s.push(frame(msg(2)));
    expect(seqs()).toEqual(['100:1', '100:2']);
    expect(errors.map((e) => e.message)).toEqual(['app bug', 'app bug']);
    client.close();
  });

  it('TOKEN_EXPIRED: fetches a new token and reconnects at once; a non-retry close code stops for good', async () => {
    const { client, getToken, closes } = setup();
    void client.connect();
    await tick();
    sock(0).accept();
    sock(0).drop(CloseCodes.TOKEN_EXPIRED.code, 'token_expired');
    expect(closes.at(-1)).toMatchObject({ willReconnect: true, reconnectInMs: 0 });
    await tick();
    expect(getToken).toHaveBeenCalledTimes(2);
    expect(sock(1).protocols).toEqual(['bearer', 'tok2']);
    sock(1).accept();

    const pending = client.send(CONV, 'x');
    sock(1).drop(CloseCodes.PROTOCOL_VIOLATION.code, 'protocol_violation');
    expect(closes.at(-1)).toEqual({ code: 4501, reason: 'protocol_violation', willReconnect: false });
    expect(client.state).toBe('closed');
    await expect(pending).rejects.toBeInstanceOf(ChatClosedError);
    await tick(60_000);
    expect(FakeSocket.all).toHaveLength(2);
  });

  it('a second TOKEN_EXPIRED before any hello stops reconnecting', async () => {
    const { client, closes } = setup();
    const connected = client.connect();
    await tick();
    sock(0).drop(CloseCodes.TOKEN_EXPIRED.code);
    await tick();
    sock(1).drop(CloseCodes.TOKEN_EXPIRED.code);
    expect(closes.map((c) => c.willReconnect)).toEqual([true, false]);
    expect(client.state).toBe('closed');
    await expect(connected).rejects.toMatchObject({ code: 4500 });
  });

  it('on a reconnect frame, moves to the next URL after after_ms without backoff', async () => {
    const { client, closes } = setup();
    void client.connect();
    await tick();
    const s1 = sock(0);
    s1.accept();
    s1.push({ type: 'reconnect', reason: 'server_restart', after_ms: 1000 });
    await tick(999);
    expect(FakeSocket.all).toHaveLength(1);
    await tick(1);
    expect(s1.closedByClient).toBeDefined();
    expect(closes).toEqual([{ code: 4401, reason: 'server asked to reconnect', willReconnect: true, reconnectInMs: 0 }]);
    await tick(1); // fake timers push a 0 ms timer set inside a timer callback by 1 ms
    expect(sock(1).url).toBe('ws://b/ws');
    client.close();
  });

  it('close() stops reconnecting and rejects pending work', async () => {
    const { client, closes } = setup();
    void client.connect();
    await tick();
    sock(0).accept();
    const ping = client.ping();
    const send = client.send(CONV, 'x');
    client.close();
    await expect(ping).rejects.toBeInstanceOf(ChatClosedError);
    await expect(send).rejects.toBeInstanceOf(ChatClosedError);
    expect(closes).toEqual([{ code: 1000, reason: 'client closed', willReconnect: false }]);
    expect(sock(0).closedByClient).toEqual({ code: 1000, reason: 'client closed' });
    await tick(60_000);
    expect(FakeSocket.all).toHaveLength(1);
  });

  it('passes other server frames to frame listeners and answers ping', async () => {
    const { client } = setup();
    const frames: ServerFrame[] = [];
    client.on('frame', (f) => frames.push(f));
    void client.connect();
    await tick();
    const s = sock(0);
    s.accept();
    s.push({ type: 'typing', conversation_id: CONV, user_id: 'u2', state: 'start' });
    expect(frames).toEqual([{ type: 'typing', conversation_id: CONV, user_id: 'u2', state: 'start' }]);
    const rtt = client.ping();
    const [ping] = s.ofType('ping');
    await tick(7);
    s.push({ type: 'pong', ref: ping?.ref });
    await expect(rtt).resolves.toBe(7);
    client.close();
  });

  it('requests issued while disconnected are sent once connected', async () => {
    const { client } = setup();
    void client.connect();
    const page = client.history(CONV, { before: 20, limit: 5 });
    await tick();
    const s = sock(0);
    expect(s.ofType('history')).toEqual([]);
    s.accept();
    const [h] = s.ofType('history');
    expect(h).toEqual({ type: 'history', ref: expect.any(String), conversation_id: CONV, before: 20, limit: 5 });
    s.push({ type: 'history.result', ref: h?.ref, conversation_id: CONV, messages: [msg(15)], has_more: true });
    await expect(page).resolves.toMatchObject({ has_more: true, messages: [msg(15)] });
    client.close();
  });
});

describe('ChatClient paging and lost real-time messages', () => {
  it('item 6: follows has_more: syncs the conversation again from its new position until complete', async () => {
    const { client, seqs } = setup({ positions: [{ conversation_id: CONV, seq: 0, epoch: 'e1' }] });
    void client.connect();
    await tick();
    const s = sock(0);
    s.accept();
    const [first] = s.ofType('sync');
    expect(first?.positions).toEqual([{ conversation_id: CONV, seq: 0, epoch: 'e1' }]);
    s.push({
      type: 'sync.result',
      ref: first?.ref,
      conversations: [{ conversation_id: CONV, epoch: 'e1', status: 'ok', last_seq: 4, messages: [msg(1), msg(2)], has_more: true }],
    });
    await tick();
    const second = s.ofType('sync')[1];
    expect(second?.positions).toEqual([{ conversation_id: CONV, seq: 2, epoch: 'e1' }]);
    s.push({
      type: 'sync.result',
      ref: second?.ref,
      conversations: [{ conversation_id: CONV, epoch: 'e1', status: 'ok', last_seq: 4, messages: [msg(3), msg(4)] }],
    });
    await tick();
    expect(seqs()).toEqual([`${CONV}:1`, `${CONV}:2`, `${CONV}:3`, `${CONV}:4`]);
    expect(s.ofType('sync')).toHaveLength(2);
    expect(s.ofType('history')).toHaveLength(0);
    client.close();
  });

  it('item 8: a sync.hint makes the client sync every position after the given delay', async () => {
    const { client } = setup({ positions: [{ conversation_id: CONV, seq: 3, epoch: 'e1' }] });
    void client.connect();
    await tick();
    const s = sock(0);
    s.accept();
    const [first] = s.ofType('sync');
    s.push({ type: 'sync.result', ref: first?.ref, conversations: [{ conversation_id: CONV, epoch: 'e1', status: 'ok', last_seq: 3, messages: [] }] });
    await tick();
    s.push({ type: 'sync.hint', reason: 'delivery_interrupted', after_ms: 500 });
    await tick(499);
    expect(s.ofType('sync')).toHaveLength(1);
    await tick(1);
    expect(s.ofType('sync')[1]?.positions).toEqual([{ conversation_id: CONV, seq: 3, epoch: 'e1' }]);
    client.close();
  });

  it('item 8: a digest showing a later seq in the same epoch fills the gap from history; one it is level with costs nothing; another epoch is synced', async () => {
    const { client, seqs, resyncs } = setup({
      positions: [
        { conversation_id: CONV, seq: 1, epoch: 'e1' },
        { conversation_id: '200', seq: 5, epoch: 'e1' },
      ],
    });
    void client.connect();
    await tick();
    const s = sock(0);
    s.accept();
    const [first] = s.ofType('sync');
    s.push({
      type: 'sync.result',
      ref: first?.ref,
      conversations: [
        { conversation_id: CONV, epoch: 'e1', status: 'ok', last_seq: 1, messages: [] },
        { conversation_id: '200', epoch: 'e1', status: 'ok', last_seq: 5, messages: [] },
      ],
    });
    await tick();
    s.push({
      type: 'digest',
      conversations: [
        { conversation_id: CONV, last_seq: 2, epoch: 'e1' },
        { conversation_id: '200', last_seq: 5, epoch: 'e1' },
      ],
    });
    await tick();
    expect(s.ofType('sync')).toHaveLength(1);
    const [h] = s.ofType('history');
    expect(h).toMatchObject({ conversation_id: CONV, after: 1, limit: 1 });
    s.push({ type: 'history.result', ref: h?.ref, conversation_id: CONV, messages: [msg(2)], has_more: false });
    await tick();
    expect(seqs()).toEqual([`${CONV}:2`]);
    s.push({ type: 'digest', conversations: [{ conversation_id: CONV, last_seq: 2, epoch: 'e1' }] });
    await tick();
    expect(s.ofType('sync')).toHaveLength(1);
    expect(s.ofType('history')).toHaveLength(1);

    s.push({ type: 'digest', conversations: [{ conversation_id: '200', last_seq: 3, epoch: 'e2' }] });
    await tick();
    const second = s.ofType('sync')[1];
    expect(second?.positions).toEqual([{ conversation_id: '200', seq: 5, epoch: 'e1' }]);
    s.push({
      type: 'sync.result',
      ref: second?.ref,
      conversations: [{ conversation_id: '200', epoch: 'e2', status: 'resync', reason: 'epoch_changed', last_seq: 3, messages: [] }],
    });
    await tick();
    expect(resyncs).toEqual([{ conversationId: '200', reason: 'epoch_changed', epoch: 'e2', lastSeq: 3 }]);
    client.close();
  });

  it('item 8: a live connection that missed more than RESUME_MAX_MESSAGES and learns it from a digest shows every message, in order, without a resync', async () => {
    // The frames of a client whose gateway was frozen (SIGSTOP) for 30 s: it had shown seq 112; after
    // SIGCONT the digest (its timer overdue) comes before any real-time message, with 1,120 stored.
    const stored = Array.from({ length: 1120 }, (_, i) => msg(i + 1));
    const { client, seqs, resyncs } = setup({ positions: [{ conversation_id: CONV, seq: 0, epoch: 'e1' }] });
    void client.connect();
    await tick();
    const s = sock(0);
    s.accept();
    const server = fakeReadServer(s, stored, { resumeMaxMessages: 1000 });
    const [first] = s.ofType('sync');
    s.push({
      type: 'sync.result',
      ref: first?.ref,
      conversations: [{ conversation_id: CONV, epoch: 'e1', status: 'ok', last_seq: 112, messages: stored.slice(0, 112) }],
    });
    await tick();
    server.answered.add(String(first?.ref));
    expect(client.positions()).toEqual([{ conversation_id: CONV, seq: 112, epoch: 'e1' }]);

    s.push({ type: 'digest', conversations: [{ conversation_id: CONV, last_seq: 1120, epoch: 'e1' }] });
    await server.answerUntilQuiet();
    expect(resyncs).toEqual([]);
    expect(seqs()).toEqual(stored.map((m) => `${CONV}:${m.seq}`));
    expect(client.positions()).toEqual([{ conversation_id: CONV, seq: 1120, epoch: 'e1' }]);
    client.close();
  });

  it('item 8: a sync.hint on a live connection more than RESUME_MAX_MESSAGES behind shows every message without a resync; a resume that far behind still resyncs', async () => {
    const stored: ChatMessage[] = Array.from({ length: 1120 }, (_, i) => msg(i + 1));
    const { client, seqs, resyncs } = setup({ positions: [{ conversation_id: CONV, seq: 0, epoch: 'e1' }] });
    void client.connect();
    await tick();
    const s = sock(0);
    s.accept();
    const server = fakeReadServer(s, stored, { resumeMaxMessages: 1000 });
    await server.answerUntilQuiet(); // the resume after connecting: too far behind, the app reloads (G4)
    expect(resyncs).toEqual([{ conversationId: CONV, reason: 'too_far_behind', epoch: 'e1', lastSeq: 1120 }]);
    expect(seqs()).toEqual([]);

    // Live from here. Its gateway was frozen (routing entries lapsed): 1,180 more are stored, none delivered.
    stored.push(...Array.from({ length: 1180 }, (_, i) => msg(1121 + i)));
    s.push({ type: 'sync.hint', reason: 'delivery_interrupted', after_ms: 0 });
    await server.answerUntilQuiet();
    expect(s.ofType('sync')).toHaveLength(2);
    expect(resyncs).toHaveLength(1);
    expect(seqs()).toEqual(stored.slice(1120).map((m) => `${CONV}:${m.seq}`));
    client.close();
  });

  it('item 6: a has_more round answered too_far_behind (messages kept arriving during the resume) is filled from history, not skipped', async () => {
    const stored: ChatMessage[] = Array.from({ length: 600 }, (_, i) => msg(i + 1));
    const { client, seqs, resyncs } = setup({ positions: [{ conversation_id: CONV, seq: 0, epoch: 'e1' }] });
    void client.connect();
    await tick();
    const s = sock(0);
    s.accept();
    const server = fakeReadServer(s, stored, { resumeMaxMessages: 1000 });
    const [first] = s.ofType('sync');
    server.answered.add(String(first?.ref));
    s.push({
      type: 'sync.result',
      ref: first?.ref,
      conversations: [{ conversation_id: CONV, epoch: 'e1', status: 'ok', last_seq: 600, messages: stored.slice(0, 300), has_more: true }],
    });
    stored.push(...Array.from({ length: 800 }, (_, i) => msg(601 + i))); // the next round is 1,100 behind
    await server.answerUntilQuiet();
    expect(s.ofType('sync')).toHaveLength(2);
    expect(resyncs).toEqual([]);
    expect(seqs()).toEqual(stored.map((m) => `${CONV}:${m.seq}`));
    client.close();
  });
});

describe('ChatClient gap filling under temporary errors', () => {
  it('item 8: never skips a gap while history answers with temporary errors; fills it once history answers', async () => {
    const { client, seqs, errors } = setup({ maxRequestAttempts: 1, maxGapFillAttempts: 2 });
    void client.connect();
    await tick();
    const s = sock(0);
    s.accept();
    s.push(frame(msg(1)));
    s.push(frame(msg(4))); // 2 and 3 missed
    for (let i = 0; i < 6; i++) {
      await tick(20_000);
      const h = s.ofType('history').at(-1);
      expect(h).toMatchObject({ conversation_id: CONV, after: 1 });
      s.push({ type: 'error', ref: h?.ref, code: 4100, name: 'rate_limited', message: 'slow down', retry: true });
    }
    await tick(20_000);
    expect(seqs()).toEqual([`${CONV}:1`]);
    expect(errors.some((e) => e instanceof ChatGapError)).toBe(false);
    const h = s.ofType('history').at(-1);
    s.push({ type: 'history.result', ref: h?.ref, conversation_id: CONV, messages: [msg(2), msg(3)], has_more: false });
    await tick();
    expect(seqs()).toEqual([`${CONV}:1`, `${CONV}:2`, `${CONV}:3`, `${CONV}:4`]);
    client.close();
  });
});

/**
 * Plays chat-service's read side for `socket` over `stored` (one conversation, epoch e1; the test may
 * append to it): sync as the server answers it (resync / too_far_behind beyond `resumeMaxMessages`),
 * history pages by `after`.
 */
function fakeReadServer(socket: FakeSocket, stored: readonly ChatMessage[], o: { resumeMaxMessages: number }) {
  const answered = new Set<string>();
  const answerPending = (): number => {
    const lastSeq = stored.length;
    let n = 0;
    for (const f of [...socket.sent]) {
      const ref = String(f.ref);
      if (answered.has(ref) || (f.type !== 'sync' && f.type !== 'history')) continue;
      answered.add(ref);
      n++;
      if (f.type === 'history') {
        const after = Number(f.after ?? 0);
        socket.push({
          type: 'history.result',
          ref,
          conversation_id: CONV,
          messages: stored.slice(after, after + Number(f.limit ?? 50)),
          has_more: after + Number(f.limit ?? 50) < lastSeq,
        });
        continue;
      }
      const conversations = (f.positions as { conversation_id: string; seq: number }[]).map(
        (p): ConversationSync =>
          lastSeq - p.seq > o.resumeMaxMessages
            ? { conversation_id: p.conversation_id, epoch: 'e1', status: 'resync', reason: 'too_far_behind', last_seq: lastSeq, messages: [] }
            : { conversation_id: p.conversation_id, epoch: 'e1', status: 'ok', last_seq: lastSeq, messages: stored.slice(p.seq) },
      );
      socket.push({ type: 'sync.result', ref, conversations });
    }
    return n;
  };
  return {
    answered,
    async answerUntilQuiet(): Promise<void> {
      for (let rounds = 0; rounds < 1000; rounds++) {
        await tick();
        if (answerPending() === 0) return;
      }
      throw new Error('the client kept asking');
    },
  };
}
