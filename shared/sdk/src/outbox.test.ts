import { describe, expect, it } from 'vitest';
import { Outbox } from './outbox.js';

describe('Outbox', () => {
  it('resends unacked sends with the same client_msg_id after a reconnect; acked ones are not', () => {
    const box = new Outbox();
    box.add('1', 'a', 'm1');
    box.add('1', 'b', 'm2');
    box.add('2', 'c', 'm3');
    for (const [i, item] of box.unsent().entries()) box.markSent(item.clientMsgId, `r${i}`);
    expect(box.unsent()).toEqual([]);
    expect(box.byRef('r1')?.clientMsgId).toBe('m2');

    expect(box.settle('m2')?.body).toBe('b'); // acked
    box.connectionLost();

    const resend = box.unsent();
    expect(resend.map((i) => i.clientMsgId)).toEqual(['m1', 'm3']);
    expect(resend.every((i) => i.ref === undefined && i.attempts === 0)).toBe(true);
  });

  it('adding a pending client_msg_id again keeps the original', () => {
    const box = new Outbox();
    const first = box.add('1', 'a', 'm1');
    expect(box.add('1', 'other', 'm1')).toBe(first);
    expect(box.size).toBe(1);
  });

  it('temporary failures count attempts and hold the item until ready', () => {
    const box = new Outbox();
    box.add('1', 'a', 'm1');
    box.markSent('m1', 'r1');
    expect(box.markRetrying('m1')?.attempts).toBe(1);
    expect(box.unsent()).toEqual([]);
    box.markReady('m1');
    expect(box.unsent().map((i) => i.clientMsgId)).toEqual(['m1']);
    box.markSent('m1', 'r2');
    box.unmark('m1');
    expect(box.unsent()[0]?.attempts).toBe(1);
    expect(box.drain().length).toBe(1);
    expect(box.size).toBe(0);
  });

  it('counts the items in flight through sends, retries, acks and reconnects, and hands out at most `limit` unsent items', () => {
    const box = new Outbox();
    for (const id of ['a', 'b', 'c', 'd']) box.add('1', id, id);
    expect(box.unsent(2).map((i) => i.clientMsgId)).toEqual(['a', 'b']);
    box.markSent('a', 'r1');
    box.markSent('b', 'r2');
    box.markSent('b', 'r3'); // a retransmission replaces the ref, it is not a second item in flight
    expect(box.inFlight).toBe(2);
    expect(box.unsent(1).map((i) => i.clientMsgId)).toEqual(['c']);
    box.markRetrying('a');
    expect(box.inFlight).toBe(1);
    expect(box.settle('b')?.ref).toBe('r3'); // settled items keep their ref for the caller
    expect(box.inFlight).toBe(0);
    box.markSent('c', 'r4');
    box.connectionLost();
    expect(box.inFlight).toBe(0);
    expect(box.unsent().map((i) => i.clientMsgId)).toEqual(['a', 'c', 'd']);
  });
});
