import { randomInt } from 'node:crypto';
import cassandra from 'cassandra-driver';
import { describe, expect, it } from 'vitest';
import { bigintToLong, fromLong, toLong } from './long.js';

/** What toLong must agree with: Long's own parse, kept only when it prints back the same. */
function byLongRoundTrip(id: string): string | 'refused' {
  const long = cassandra.types.Long.fromString(id);
  return long.toString() === id ? long.toString() : 'refused';
}

function outcome(id: string): string {
  try {
    return toLong(id).toString();
  } catch (err) {
    expect(err).toBeInstanceOf(RangeError);
    return 'refused';
  }
}

describe('toLong', () => {
  it('takes exactly the canonical 64-bit decimals, to the same value as Long', () => {
    const edges = ['0', '1', '-1', '9223372036854775807', '-9223372036854775808', '9223372036854775808', '-9223372036854775809', '18446744073709551616'];
    const refused = ['', '-0', '+1', '01', ' 1', '1 ', '1e3', '0x10', '1.0', '١٢', '99999999999999999999', '-'];
    for (const id of edges) expect([id, outcome(id)]).toEqual([id, byLongRoundTrip(id)]);
    for (const id of refused) expect([id, outcome(id)]).toEqual([id, 'refused']);
    for (let i = 0; i < 5000; i++) {
      const digits = String(randomInt(2 ** 47)) + String(randomInt(2 ** 47)).slice(0, randomInt(8));
      const id = (randomInt(4) === 0 ? '-' : '') + digits;
      expect([id, outcome(id)]).toEqual([id, byLongRoundTrip(id)]);
    }
  });

  it('round-trips through fromLong', () => {
    for (const id of ['7318271683452612608', '42', '-5']) expect(fromLong(toLong(id))).toBe(id);
  });

  it('bigintToLong keeps every bit of a write timestamp', () => {
    for (const v of [0n, 1n, -1n, 1_796_233_360_540_000n, 2n ** 63n - 1n, -(2n ** 63n)]) expect(bigintToLong(v).toString()).toBe(v.toString());
  });
});
