import { describe, expect, it } from 'vitest';
import type { ChatMessage } from '@chat/protocol';
import { OrderedInbox } from './ordered-inbox.js';

const C = '100';
function m(seq: number, epoch = 'e1', conversation_id = C, message_id = `${conversation_id}-${epoch}-${seq}`): ChatMessage {
  return { conversation_id, message_id, seq, epoch, sender_id: 'u1', client_msg_id: `c${seq}`, body: `b${seq}`, created_at: seq };
}
const seqs = (list: ChatMessage[]) => list.map((x) => x.seq);

describe('OrderedInbox', () => {
  it('starts an unseen conversation at the first seq and releases in order', () => {
    const inbox = new OrderedInbox();
    expect(seqs(inbox.accept(m(5)).deliver)).toEqual([5]);
    expect(seqs(inbox.accept(m(6)).deliver)).toEqual([6]);
    expect(inbox.positions()).toEqual([{ conversation_id: C, seq: 6, epoch: 'e1' }]);
    expect(inbox.gap(C)).toBeUndefined();
  });

  it('drops duplicates: same message_id, or seq <= last', () => {
    const inbox = new OrderedInbox();
    inbox.accept(m(1));
    inbox.accept(m(2));
    expect(inbox.accept(m(2)).deliver).toEqual([]);
    expect(inbox.accept(m(1, 'e1', C, 'other-id')).deliver).toEqual([]);
    // a buffered message delivered twice is released once
    expect(inbox.accept(m(4)).deliver).toEqual([]);
    expect(inbox.accept(m(4)).deliver).toEqual([]);
    expect(seqs(inbox.accept(m(3)).deliver)).toEqual([3, 4]);
    expect(inbox.accept(m(4)).deliver).toEqual([]);
  });

  it('buffers out-of-order messages and releases them in order once the gap closes', () => {
    const inbox = new OrderedInbox();
    inbox.track(C, 0, 'e1');
    expect(inbox.accept(m(3)).deliver).toEqual([]);
    expect(inbox.accept(m(2)).deliver).toEqual([]);
    expect(inbox.buffered(C)).toBe(2);
    expect(seqs(inbox.accept(m(1)).deliver)).toEqual([1, 2, 3]);
    expect(inbox.buffered(C)).toBe(0);
  });

  it('reports a gap with after = last released seq, closed by history pages', () => {
    const inbox = new OrderedInbox();
    inbox.track(C, 10, 'e1');
    expect(inbox.accept(m(15)).deliver).toEqual([]);
    expect(inbox.gap(C)).toEqual({ conversationId: C, after: 10, until: 15 });
    // first history page (after=10, limit=2)
    expect(seqs(inbox.acceptAll([m(12), m(11)]).deliver)).toEqual([11, 12]);
    expect(inbox.gap(C)).toEqual({ conversationId: C, after: 12, until: 15 });
    expect(seqs(inbox.acceptAll([m(13), m(14), m(15)]).deliver)).toEqual([13, 14, 15]);
    expect(inbox.gap(C)).toBeUndefined();
    expect(inbox.gaps()).toEqual([]);
  });

  it('a tracked position is honoured: messages at or below it are dropped, above it wait for the gap', () => {
    const inbox = new OrderedInbox();
    inbox.track(C, 7); // no epoch known yet
    expect(inbox.accept(m(7)).deliver).toEqual([]);
    expect(inbox.accept(m(9)).deliver).toEqual([]);
    expect(inbox.gap(C)).toMatchObject({ after: 7, until: 9 });
    expect(inbox.position(C)).toEqual({ conversation_id: C, seq: 7, epoch: 'e1' });
  });

  it('sync ok: applies messages then notes last_seq (opening a gap when truncated)', () => {
    const inbox = new OrderedInbox();
    inbox.track(C, 3, 'e1');
    expect(seqs(inbox.syncOk(C, 'e1', 8, [m(5), m(4)]).deliver)).toEqual([4, 5]);
    expect(inbox.gap(C)).toEqual({ conversationId: C, after: 5, until: 8 });
  });

  it('an epoch change in a message resets the position, reports it, and drops stale-epoch messages', () => {
    const inbox = new OrderedInbox();
    inbox.track(C, 5, 'e1');
    inbox.accept(m(6));
    expect(inbox.accept(m(9)).deliver).toEqual([]); // buffered in e1
    const r = inbox.accept(m(3, 'e2'));
    expect(r.epochChange).toEqual({ conversationId: C, previousEpoch: 'e1', epoch: 'e2', lastSeq: 2 });
    expect(seqs(r.deliver)).toEqual([3]);
    expect(inbox.position(C)).toEqual({ conversation_id: C, seq: 3, epoch: 'e2' });
    expect(inbox.buffered(C)).toBe(0);
    // late message of the old epoch: dropped
    expect(inbox.accept(m(7, 'e1')).deliver).toEqual([]);
    expect(seqs(inbox.accept(m(4, 'e2')).deliver)).toEqual([4]);
  });

  it('resync adopts the server epoch and position; same-epoch positions never move backwards', () => {
    const inbox = new OrderedInbox();
    inbox.track(C, 5, 'e1');
    expect(inbox.resync(C, 'e2', 40)).toEqual([]);
    expect(inbox.position(C)).toEqual({ conversation_id: C, seq: 40, epoch: 'e2' });
    inbox.resync(C, 'e2', 30);
    expect(inbox.position(C)?.seq).toBe(40);
    expect(inbox.accept(m(41, 'e1')).deliver).toEqual([]); // retired epoch
    expect(seqs(inbox.accept(m(41, 'e2')).deliver)).toEqual([41]);
  });

  it('resync keeps buffered messages of the new epoch beyond the new position', () => {
    const inbox = new OrderedInbox();
    inbox.track(C, 1, 'e1');
    inbox.accept(m(11));
    inbox.accept(m(12));
    expect(seqs(inbox.resync(C, 'e1', 10))).toEqual([11, 12]);
  });

  it('a message re-sequenced under a new epoch is not emitted twice but fills its slot', () => {
    const inbox = new OrderedInbox();
    inbox.track(C, 0, 'e1');
    inbox.accept(m(1, 'e1', C, 'id-a'));
    inbox.resync(C, 'e2', 0);
    expect(inbox.accept(m(2, 'e2', C, 'id-b')).deliver).toEqual([]);
    expect(seqs(inbox.accept(m(1, 'e2', C, 'id-a')).deliver)).toEqual([2]);
    expect(inbox.position(C)?.seq).toBe(2);
  });

  it('skipGap gives up on a missing range and releases what follows', () => {
    const inbox = new OrderedInbox();
    inbox.track(C, 1, 'e1');
    inbox.accept(m(4));
    inbox.accept(m(5));
    inbox.accept(m(8));
    const skipped = inbox.skipGap(C);
    expect(skipped && { from: skipped.from, to: skipped.to, deliver: seqs(skipped.deliver) }).toEqual({ from: 2, to: 3, deliver: [4, 5] });
    expect(inbox.gap(C)).toEqual({ conversationId: C, after: 5, until: 8 });
  });

  it('keeps conversations independent', () => {
    const inbox = new OrderedInbox();
    inbox.accept(m(1, 'e1', 'A'));
    inbox.accept(m(7, 'x', 'B'));
    expect(inbox.accept(m(3, 'e1', 'A')).deliver).toEqual([]);
    expect(seqs(inbox.accept(m(8, 'x', 'B')).deliver)).toEqual([8]);
    expect(inbox.gaps()).toEqual([{ conversationId: 'A', after: 1, until: 3 }]);
  });
});
