import { describe, expect, it } from 'vitest';
import { ID_EPOCH_MS, SnowflakeIds, idTimestamp, isSnowflake } from './snowflake.js';

describe('SnowflakeIds', () => {
  it('is strictly increasing within a millisecond and across a clock step back', () => {
    let now = ID_EPOCH_MS + 1000;
    const ids = new SnowflakeIds(7, () => now);
    const seen = [ids.next(), ids.next()];
    now -= 500;
    seen.push(ids.next());
    const asBig = seen.map(BigInt);
    expect(asBig[1]! > asBig[0]!).toBe(true);
    expect(asBig[2]! > asBig[1]!).toBe(true);
    expect(idTimestamp(seen[0]!)).toBe(ID_EPOCH_MS + 1000);
  });

  it('rolls into the next millisecond when 4096 ids are taken in one', () => {
    const ids = new SnowflakeIds(1, () => ID_EPOCH_MS + 5);
    const all = Array.from({ length: 5000 }, () => ids.next());
    expect(new Set(all).size).toBe(5000);
    expect(all.every(isSnowflake)).toBe(true);
  });

  it('rejects worker ids outside 0..1023', () => {
    expect(() => new SnowflakeIds(1024)).toThrow(RangeError);
  });
});
