import { describe, expect, it } from 'vitest';
import type { ChatMessage } from '../frames.js';
import { encodeSequencedRecord, parseSequencedRecord } from './sequenced-record.js';

const message: ChatMessage = {
  conversation_id: '123',
  message_id: '456',
  seq: 7,
  epoch: 'lx0abc',
  sender_id: 'alice',
  client_msg_id: 'c-1',
  body: 'hi',
  created_at: 1_700_000_000_000,
};

describe('sequenced record', () => {
  it('round-trips a stored message', () => {
    expect(parseSequencedRecord(encodeSequencedRecord(message))).toEqual({ v: 1, type: 'sequenced', message });
  });

  it('round-trips a message with attachments and refuses malformed ones', () => {
    const withFiles: ChatMessage = { ...message, body: '', attachments: [{ attachment_id: '9', content_type: 'image/png', size: 10, filename: 'a.png' }] };
    expect(parseSequencedRecord(encodeSequencedRecord(withFiles)).message).toEqual(withFiles);
    expect(() =>
      parseSequencedRecord({ v: 1, type: 'sequenced', message: { ...message, attachments: [{ attachment_id: '09', content_type: 'x/y', size: 1 }] } }),
    ).toThrow();
    expect(() => parseSequencedRecord({ v: 1, type: 'sequenced', message: { ...message, attachments: {} } })).toThrow();
  });

  it.each([
    ['another version', { v: 2, type: 'sequenced', message }],
    ['another type', { v: 1, type: 'message', message }],
    ['no message', { v: 1, type: 'sequenced' }],
    ['a non-canonical conversation id', { v: 1, type: 'sequenced', message: { ...message, conversation_id: '0123' } }],
    ['seq 0', { v: 1, type: 'sequenced', message: { ...message, seq: 0 } }],
    ['a fractional seq', { v: 1, type: 'sequenced', message: { ...message, seq: 1.5 } }],
    ['a missing sender', { v: 1, type: 'sequenced', message: { ...message, sender_id: undefined } }],
    ['a non-string body', { v: 1, type: 'sequenced', message: { ...message, body: 3 } }],
    ['a bad epoch', { v: 1, type: 'sequenced', message: { ...message, epoch: 'A B' } }],
  ])('refuses %s', (_name, value) => {
    expect(() => parseSequencedRecord(JSON.stringify(value))).toThrow();
  });

  it('refuses text that is not JSON', () => {
    expect(() => parseSequencedRecord('{nope')).toThrow(SyntaxError);
  });
});
