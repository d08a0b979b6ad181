import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ChatError, Errors } from './errors.js';
import { ID_LIMIT, parseCanonicalId } from './canonical-id.js';
import { parseClientFrame } from './parse-client-frame.js';

const validId = fc.bigInt({ min: 1n, max: ID_LIMIT - 1n });

describe('parseCanonicalId', () => {
  it('item 2: accepts exactly decimal 1 ≤ id < 2^63 without leading zeros, returning the same string', () => {
    fc.assert(
      fc.property(validId, (n) => {
        expect(parseCanonicalId(n.toString())).toBe(n.toString());
      }),
    );
    expect(parseCanonicalId('1')).toBe('1');
    expect(parseCanonicalId((ID_LIMIT - 1n).toString())).toBe('9223372036854775807');
  });

  it('item 2: refuses every alias of a valid id (leading zeros, +2^64, sign, spaces, exponent)', () => {
    fc.assert(
      fc.property(validId, fc.integer({ min: 1, max: 3 }), (n, zeros) => {
        const s = n.toString();
        for (const alias of [
          '0'.repeat(zeros) + s,
          (n + (1n << 64n)).toString(),
          (n + ID_LIMIT).toString(),
          `+${s}`,
          `-${s}`,
          ` ${s}`,
          `${s} `,
          `${s}.0`,
          `${s}e0`,
        ]) {
          expect(parseCanonicalId(alias), alias).toBeUndefined();
        }
      }),
    );
  });

  it('item 2: refuses 0, 2^63 and above, empty and non-strings', () => {
    for (const v of [
      '0',
      '00',
      ID_LIMIT.toString(),
      (1n << 64n).toString(),
      '99999999999999999999',
      '',
      'abc',
      '١٢',
      7,
      7n,
      null,
      undefined,
      ['7'],
      { id: '7' },
    ]) {
      expect(parseCanonicalId(v), String(v)).toBeUndefined();
    }
  });

  it('item 2: any string it accepts round-trips through BigInt unchanged', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: fc.constantFrom(...'0123456789 +-e.'.split('')), maxLength: 22 }), fc.string()), (s) => {
        const id = parseCanonicalId(s);
        if (id !== undefined) {
          expect(id).toBe(s);
          expect(BigInt(id).toString()).toBe(s);
          expect(BigInt(id) >= 1n && BigInt(id) < ID_LIMIT).toBe(true);
        }
      }),
    );
  });

  it('item 2: WebSocket frames naming an alias conversation are refused with invalid_shape', () => {
    const limits = { maxBodyBytes: 100 };
    for (const conversation_id of ['07', (7n + (1n << 64n)).toString(), '0']) {
      for (const frame of [
        { type: 'send', ref: 'r', conversation_id, client_msg_id: 'c', body: 'b' },
        { type: 'history', ref: 'r', conversation_id },
        { type: 'sync', ref: 'r', positions: [{ conversation_id, seq: 0 }] },
        { type: 'typing', conversation_id, state: 'start' },
        { type: 'read', ref: 'r', conversation_id, seq: 1 },
      ]) {
        let code: number | undefined;
        try {
          parseClientFrame(frame, 'alice', limits);
        } catch (err) {
          code = err instanceof ChatError ? err.def.code : -1;
        }
        expect(code, `${frame.type} ${conversation_id}`).toBe(Errors.INVALID_SHAPE.code);
      }
    }
  });
});
