import { describe, expect, it, vi } from 'vitest';
import { Errors } from '@chat/protocol';
import { ChatConnectionError, ChatRequestError, ChatTimeoutError, type WebSocketLike } from '@chat/sdk';
import { checkHistory, classifySendError, History, recordingWebSocket, type StoredMessage } from '../src/history-checker.js';

// The checker itself, on hand-made histories: it must find every kind of violation, or a fault test
// that prints lost=0 proves nothing.

const CONV = '1001';
function stored(seq: number, sender = 'alice', clientMsgId = `c${seq}`, messageId = `${900 + seq}`, conv = CONV): StoredMessage {
  return { conversation_id: conv, seq, message_id: messageId, sender_id: sender, client_msg_id: clientMsgId, body: `body ${clientMsgId}` };
}
const reader = (rows: StoredMessage[]) => async (conv: string) => rows.filter((r) => r.conversation_id === conv);
const seen = (m: StoredMessage) => ({ conversation_id: m.conversation_id, seq: m.seq, message_id: m.message_id });

/** Three acked sends, stored at seqs 1..3, shown to bob in order. */
function cleanRun(name = 'clean') {
  const h = new History(name);
  const rows = [stored(1), stored(2), stored(3)];
  for (const r of rows) h.begin('alice', CONV, r.client_msg_id, r.body).ok(r.message_id);
  const bob = h.device('bob').follow(CONV);
  for (const r of rows) bob.shown(seen(r));
  return { h, rows, bob };
}

describe('history checker', () => {
  it('passes a clean history and prints its counts on one line', async () => {
    const { h, rows } = cleanRun();
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    const r = await checkHistory(h, { readStored: reader(rows) });
    expect(log).toHaveBeenCalledWith(r.line);
    log.mockRestore();
    expect(r.violations).toEqual([]);
    expect(r).toMatchObject({ ok: true, acked: 3, lost: 0, duplicated: 0, reordered: 0, gaps: 0, undelivered: 0, unexplained: 0, stored: 3, indeterminate: 0 });
    expect(r.line).toMatch(/^checker\[clean\]: acked=3 lost=0 duplicated=0 reordered=0 indeterminate=0 stored=3 /);
  });

  it('an acked message missing from storage is lost', async () => {
    const { h, rows } = cleanRun();
    h.begin('alice', CONV, 'c4').ok('904');
    const r = await checkHistory(h, { readStored: reader(rows), print: false });
    expect(r).toMatchObject({ ok: false, acked: 4, lost: 1 });
    expect(r.violations[0]).toContain('alice/c4');
  });

  it('an acked resend found under its client_msg_id with another message_id is not lost (documented G5 bound)', async () => {
    const { h, rows } = cleanRun();
    h.begin('alice', CONV, 'c3').ok('7777'); // the resend's ack carried a new id that was never stored
    const r = await checkHistory(h, { readStored: reader(rows), print: false });
    expect(r).toMatchObject({ ok: true, acked: 3, lost: 0, ackedUnderOtherId: 0 });
    const h2 = new History('other-id');
    h2.begin('alice', CONV, 'c1').ok('7777');
    const r2 = await checkHistory(h2, { readStored: reader([stored(1)]), print: false });
    expect(r2).toMatchObject({ ok: true, lost: 0, ackedUnderOtherId: 1 });
  });

  it('finds a message_id stored twice, a send stored twice, and a message shown twice', async () => {
    const { h, rows, bob } = cleanRun();
    const r1 = await checkHistory(h, { readStored: reader([...rows, { ...stored(4), message_id: rows[0]!.message_id, client_msg_id: 'c4' }]), print: false });
    expect(r1.duplicated).toBeGreaterThanOrEqual(1);
    expect(r1.violations.join('\n')).toContain('stored twice');

    const r2 = await checkHistory(h, { readStored: reader([...rows, stored(4, 'alice', 'c3', '999')]), print: false });
    expect(r2.duplicated).toBe(1);
    expect(r2.violations.join('\n')).toContain('alice/c3');

    bob.shown(seen(rows[1]!));
    const r3 = await checkHistory(h, { readStored: reader(rows), print: false });
    expect(r3).toMatchObject({ ok: false, duplicated: 1 });
    expect(r3.violations[0]).toContain('twice');
  });

  it('one message_id acked for two different sends is a duplicate (an id minted twice)', async () => {
    const { h, rows } = cleanRun();
    h.begin('bob', CONV, 'other').ok(rows[0]!.message_id);
    const r = await checkHistory(h, { readStored: reader(rows), print: false });
    expect(r.duplicated).toBe(1);
    expect(r.violations.join('\n')).toContain('acked for two different sends');
  });

  it('a reused client_msg_id with another body is another message, not a duplicate', async () => {
    const h = new History('reuse');
    h.begin('alice', CONV, 'c1', 'body c1').ok('901');
    h.begin('alice', CONV, 'c1', 'another body').indeterminate('timeout');
    const rows = [stored(1), { ...stored(2, 'alice', 'c1', '902'), body: 'another body' }];
    const r = await checkHistory(h, { readStored: reader(rows), print: false });
    expect(r).toMatchObject({ ok: true, duplicated: 0, stored: 2 });
  });

  it('raw duplicates on the wire are counted but allowed (at-least-once)', async () => {
    const { h, rows, bob } = cleanRun();
    bob.raw(seen(rows[0]!));
    bob.raw(seen(rows[0]!));
    bob.rawFrame(JSON.stringify({ type: 'sync.result', ref: 'r1', conversations: [{ conversation_id: CONV, messages: [rows[0], rows[1]] }] }));
    bob.rawFrame(JSON.stringify({ type: 'history.result', ref: 'r2', conversation_id: CONV, messages: [rows[1]] }));
    bob.rawFrame(JSON.stringify({ type: 'message', ...rows[2] }));
    bob.rawFrame('{not json');
    bob.rawFrame(JSON.stringify({ type: 'ack', message_id: '1', seq: 3, conversation_id: CONV }));
    expect(bob.rawLog).toHaveLength(6);
    const r = await checkHistory(h, { readStored: reader(rows), print: false });
    expect(r).toMatchObject({ ok: true, rawDuplicates: 3 });
  });

  it('finds a device that showed messages out of order, or another message at a seq than storage', async () => {
    const h = new History('order');
    const rows = [stored(1), stored(2), stored(3)];
    for (const r of rows) h.begin('alice', CONV, r.client_msg_id).ok(r.message_id);
    const bob = h.device('bob').follow(CONV);
    for (const i of [0, 2, 1]) bob.shown(seen(rows[i]!));
    const carol = h.device('carol').follow(CONV);
    carol.shown(seen(rows[0]!));
    carol.shown({ ...seen(rows[1]!), seq: 3 });
    carol.shown({ ...seen(rows[2]!), seq: 4 });
    const r = await checkHistory(h, { readStored: reader(rows), print: false });
    expect(r.reordered).toBe(3); // bob: seq 2 after 3; carol: wrong message at 3, nothing stored at 4
    expect(r.undelivered).toBe(0); // every message was shown, if at the wrong place
    expect(r.ok).toBe(false);
  });

  it('finds a seq gap in storage', async () => {
    const h = new History('gaps');
    const rows = [stored(1), stored(3), stored(4)];
    for (const r of rows) h.begin('alice', CONV, r.client_msg_id).ok(r.message_id);
    const r = await checkHistory(h, { readStored: reader(rows), print: false });
    expect(r).toMatchObject({ ok: false, gaps: 1 });
    const r2 = await checkHistory(h, { readStored: reader(rows.slice(1)), print: false });
    expect(r2.gaps).toBe(2); // starts at 3, not 1
  });

  it('a device that follows a conversation must show every stored message after its start', async () => {
    const { h, rows } = cleanRun();
    const late = h.device('carol').follow(CONV, 2);
    const r1 = await checkHistory(h, { readStored: reader(rows), print: false });
    expect(r1).toMatchObject({ ok: false, undelivered: 1 });
    late.shown(seen(rows[2]!));
    expect((await checkHistory(h, { readStored: reader(rows), print: false })).ok).toBe(true);
  });

  it('stored but unacked: fine when a send was indeterminate, a violation when refused or unrecorded', async () => {
    const h = new History('unacked');
    h.begin('alice', CONV, 'c1').ok('901');
    h.begin('alice', CONV, 'c2').indeterminate('connection lost');
    h.begin('alice', CONV, 'c3').failed('not_member', 4003);
    h.begin('alice', CONV, 'c5').failed('invalid_shape', 4002);
    h.begin('alice', CONV, 'c6'); // never answered: counts as indeterminate
    const ok = await checkHistory(h, { readStored: reader([stored(1), stored(2)]), print: false });
    expect(ok).toMatchObject({ ok: true, acked: 1, indeterminate: 2, indeterminateStored: 1, failed: 2 });

    const bad = await checkHistory(h, { readStored: reader([stored(1), stored(2), stored(3), stored(4)]), print: false });
    expect(bad).toMatchObject({ ok: false, unexplained: 2 });
    expect(bad.violations.join('\n')).toMatch(/refused definitively \(4003\)/);
    expect(bad.violations.join('\n')).toMatch(/matches no recorded send/);
  });

  it('a send retried after a timeout and then acked counts once, as acked', async () => {
    const h = new History('retry');
    h.begin('alice', CONV, 'c1').indeterminate('timeout');
    h.begin('alice', CONV, 'c1').ok('901');
    const r = await checkHistory(h, { readStored: reader([stored(1)]), print: false });
    expect(r).toMatchObject({ ok: true, acked: 1, indeterminate: 0 });
  });

  it('classifies errors: definite refusals fail, anything that may have been written is indeterminate', () => {
    const err = (code: number) => new ChatRequestError({ code, name: 'x', message: 'x', retry: code >= 4100, ref: 'r' });
    expect(classifySendError(err(Errors.NOT_MEMBER.code)).outcome).toBe('failed');
    expect(classifySendError(err(Errors.CLIENT_MSG_ID_REUSED.code)).outcome).toBe('failed');
    expect(classifySendError(err(Errors.INVALID_SHAPE.code)).outcome).toBe('failed');
    expect(classifySendError(err(Errors.RATE_LIMITED.code)).outcome).toBe('failed');
    expect(classifySendError(err(Errors.UNAVAILABLE.code))).toEqual({ outcome: 'indeterminate', reason: 'x', code: 4101 });
    expect(classifySendError(err(Errors.INTERNAL.code)).outcome).toBe('indeterminate');
    expect(classifySendError(new ChatTimeoutError('send', 1000)).outcome).toBe('indeterminate');
    expect(classifySendError(new ChatConnectionError('lost')).outcome).toBe('indeterminate');
    expect(classifySendError('weird').outcome).toBe('indeterminate');
  });

  it('track() records a promise-returning send and an outcome is settled once', async () => {
    const h = new History('track');
    const a = await h.track('alice', CONV, 'c1', 'b', Promise.resolve({ message_id: '901' }));
    const b = await h.track(
      'alice',
      CONV,
      'c2',
      'b',
      Promise.reject(new ChatRequestError({ code: 4003, name: 'not_member', message: 'no', retry: false, ref: 'r' })),
    );
    expect(a).toMatchObject({ outcome: 'ok', messageId: '901' });
    expect(b).toMatchObject({ outcome: 'failed', code: 4003 });
    const op = h.begin('alice', CONV, 'c3');
    op.ok('903');
    op.failed('late');
    expect(op.record).toMatchObject({ outcome: 'ok', messageId: '903' });
  });

  it('settleMs re-checks until late deliveries arrive', async () => {
    const { h, rows, bob } = cleanRun('settle');
    bob.shownLog.pop();
    setTimeout(() => bob.shown(seen(rows[2]!)), 150);
    const r = await checkHistory(h, { readStored: reader(rows), settleMs: 5_000, quietMs: 10, print: false });
    expect(r.ok).toBe(true);
  });

  it('recordingWebSocket hands every server text frame to the recorder before the client', () => {
    class Fake implements WebSocketLike {
      static last: Fake;
      readyState = 1;
      onopen: ((e: unknown) => void) | null = null;
      onmessage: ((e: { data: unknown }) => void) | null = null;
      onclose: ((e: { code: number; reason: string }) => void) | null = null;
      onerror: ((e: unknown) => void) | null = null;
      sent: string[] = [];
      constructor(
        readonly url: string,
        readonly protocols?: string | string[],
      ) {
        Fake.last = this;
      }
      send(d: string) {
        this.sent.push(d);
      }
      close() {
        this.readyState = 3;
      }
    }
    const order: string[] = [];
    const Impl = recordingWebSocket(Fake, (t) => order.push(`raw ${t}`));
    const ws = new Impl('ws://x', ['bearer', 't']);
    ws.onmessage = (e) => order.push(`client ${String(e.data)}`);
    let closed = 0;
    ws.onclose = () => closed++;
    Fake.last.onmessage?.({ data: 'a' });
    Fake.last.onmessage?.({ data: Buffer.from('b') });
    ws.send('out');
    Fake.last.onclose?.({ code: 1000, reason: '' });
    expect(order).toEqual(['raw a', 'client a', 'raw b', 'client b']);
    expect(Fake.last.sent).toEqual(['out']);
    expect(Fake.last.protocols).toEqual(['bearer', 't']);
    expect(closed).toBe(1);
    expect(ws.readyState).toBe(1);
  });
});
