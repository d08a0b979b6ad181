import { Buffer } from 'node:buffer';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { exceedsUtf8Bytes, utf8ByteLength } from './utf8.js';

/** Any UTF-16 code unit, so lone surrogates and pairs both occur; plus whole code points. */
const text = fc.oneof(
  fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((u) => String.fromCharCode(u)), maxLength: 64 }),
  fc.string({ unit: 'binary', maxLength: 64 }),
);

describe('utf8ByteLength', () => {
  it('agrees with Buffer.byteLength for any string, lone surrogates included', () => {
    fc.assert(
      fc.property(text, (s) => {
        expect(utf8ByteLength(s)).toBe(Buffer.byteLength(s, 'utf8'));
      }),
    );
    for (const s of ['\ud800', '\udc00x', 'a\ud83d\ude00b', '€', 'é']) expect(utf8ByteLength(s)).toBe(Buffer.byteLength(s, 'utf8'));
  });

  it('exceedsUtf8Bytes decides exactly at the limit', () => {
    fc.assert(
      fc.property(text, fc.integer({ min: 0, max: 200 }), (s, max) => {
        expect(exceedsUtf8Bytes(s, max)).toBe(Buffer.byteLength(s, 'utf8') > max);
      }),
    );
  });
});
