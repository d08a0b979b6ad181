import { describe, expect, it } from 'vitest';
import { ChatError, Errors } from './errors.js';
import { decodeFrame, parseClientFrame, refOf } from './parse-client-frame.js';

const limits = { maxBodyBytes: 10 };
function codeOf(fn: () => unknown): number | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof ChatError ? err.def.code : -1;
  }
  return undefined;
}

describe('parseClientFrame', () => {
  it('accepts a valid send', () => {
    expect(parseClientFrame({ type: 'send', ref: 'r1', conversation_id: '12', client_msg_id: 'c-1', body: 'hi' }, 'alice', limits)).toEqual({
      type: 'send',
      ref: 'r1',
      conversation_id: '12',
      client_msg_id: 'c-1',
      body: 'hi',
    });
  });

  it.each([
    ['malformed JSON', () => decodeFrame('{nope'), Errors.BAD_FRAME.code],
    ['unknown type', () => parseClientFrame({ type: 'launch', ref: 'r' }, 'a', limits), Errors.UNKNOWN_TYPE.code],
    ['not an object', () => parseClientFrame([1], 'a', limits), Errors.INVALID_SHAPE.code],
    ['missing ref', () => parseClientFrame({ type: 'ping' }, 'a', limits), Errors.INVALID_SHAPE.code],
    [
      'bad conversation id',
      () => parseClientFrame({ type: 'send', ref: 'r', conversation_id: 'x', client_msg_id: 'c', body: 'b' }, 'a', limits),
      Errors.INVALID_SHAPE.code,
    ],
    [
      'body too large',
      () => parseClientFrame({ type: 'send', ref: 'r', conversation_id: '1', client_msg_id: 'c', body: 'é'.repeat(6) }, 'a', limits),
      Errors.BODY_TOO_LARGE.code,
    ],
    [
      'forged sender',
      () => parseClientFrame({ type: 'send', ref: 'r', sender: 'mallory', conversation_id: '1', client_msg_id: 'c', body: 'b' }, 'alice', limits),
      Errors.SENDER_MISMATCH.code,
    ],
    [
      'negative seq',
      () => parseClientFrame({ type: 'sync', ref: 'r', positions: [{ conversation_id: '1', seq: -1 }] }, 'a', limits),
      Errors.INVALID_SHAPE.code,
    ],
  ])('rejects %s with its registry code', (_name, fn, code) => {
    expect(codeOf(fn)).toBe(code);
  });

  it('accepts distinct attachment ids on a send, then an empty body too; refuses repeated, malformed or too many', () => {
    const send = (extra: Record<string, unknown>) =>
      parseClientFrame({ type: 'send', ref: 'r', conversation_id: '1', client_msg_id: 'c', body: 'b', ...extra }, 'a', limits);
    expect(send({ attachment_ids: ['5', '3'] })).toMatchObject({ attachment_ids: ['5', '3'] });
    expect(send({ attachment_ids: ['5'], body: '' })).toMatchObject({ body: '', attachment_ids: ['5'] });
    expect(send({ attachment_ids: [] })).not.toHaveProperty('attachment_ids');
    for (const bad of [
      { attachment_ids: [] as string[], body: ' ' },
      { attachment_ids: ['5', '5'] },
      { attachment_ids: ['05'] },
      { attachment_ids: [5] },
      { attachment_ids: '5' },
      { attachment_ids: Array.from({ length: 11 }, (_, i) => String(i + 1)) },
    ]) {
      expect(
        codeOf(() => send(bad)),
        JSON.stringify(bad),
      ).toBe(Errors.INVALID_SHAPE.code);
    }
  });

  it('accepts a sender field equal to the token subject', () => {
    expect(parseClientFrame({ type: 'ping', ref: 'r', sender: 'alice' }, 'alice', limits)).toEqual({ type: 'ping', ref: 'r' });
  });

  it('hostile input: an integer written as -0 is accepted as 0, so the frame round-trips unchanged', () => {
    const read = parseClientFrame(decodeFrame('{"type":"read","ref":"r","conversation_id":"1","seq":-0}'), 'a', limits);
    expect(Object.is((read as { seq: number }).seq, 0)).toBe(true);
    const sync = parseClientFrame(decodeFrame('{"type":"sync","ref":"r","positions":[{"conversation_id":"1","seq":-0}]}'), 'a', limits);
    expect(Object.is((sync as { positions: { seq: number }[] }).positions[0]!.seq, 0)).toBe(true);
    const history = parseClientFrame(decodeFrame('{"type":"history","ref":"r","conversation_id":"1","after":-0}'), 'a', limits);
    expect(Object.is((history as { after: number }).after, 0)).toBe(true);
  });

  it('echoes only usable refs', () => {
    expect(refOf({ ref: 'abc' })).toBe('abc');
    expect(refOf({ ref: 'x'.repeat(65) })).toBeUndefined();
    expect(refOf('str')).toBeUndefined();
  });
});
