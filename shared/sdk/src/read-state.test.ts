import { describe, expect, it } from 'vitest';
import type { ChatMessage } from '@chat/protocol';
import { ReadState } from './read-state.js';

const msg = (conversation_id: string, seq: number, sender_id = 'bob'): ChatMessage => ({
  conversation_id,
  message_id: String(100 + seq),
  seq,
  epoch: 'e',
  sender_id,
  client_msg_id: `c${seq}`,
  body: 'x',
  created_at: 1,
});

describe('ReadState', () => {
  it('counts unread per conversation and in total, and agrees whatever order receipts and messages arrive in', () => {
    const changes: [string, number][] = [];
    const a = new ReadState((cid, n) => changes.push([cid, n]));
    a.seed([{ conversation_id: '1', last_seq: 5, read_seq: 2 }]);
    a.onMessage(msg('1', 6), 'me');
    a.onMessage(msg('2', 1), 'me');
    expect([a.unread('1'), a.unread('2'), a.totalUnread()]).toEqual([4, 1, 5]);
    a.onReceipt({ conversation_id: '1', user_id: 'me', seq: 6 }, 'me'); // read on another device
    a.onReceipt({ conversation_id: '1', user_id: 'me', seq: 3 }, 'me'); // an older receipt changes nothing
    a.onReceipt({ conversation_id: '2', user_id: 'bob', seq: 1 }, 'me'); // someone else's receipt
    expect([a.unread('1'), a.unread('2')]).toEqual([0, 1]);
    a.onMessage(msg('2', 2, 'me'), 'me'); // my own message: read up to it
    expect(a.totalUnread()).toBe(0);
    expect(changes).toEqual([
      ['1', 3],
      ['1', 4],
      ['2', 1],
      ['1', 0],
      ['2', 0],
    ]);

    const b = new ReadState();
    b.onReceipt({ conversation_id: '1', user_id: 'me', seq: 6 }, 'me');
    b.onMessage(msg('2', 2, 'me'), 'me');
    b.onMessage(msg('1', 6), 'me');
    b.seed([{ conversation_id: '1', last_seq: 5, read_seq: 2 }]);
    expect([b.unread('1'), b.unread('2')]).toEqual([a.unread('1'), a.unread('2')]);
  });
});
