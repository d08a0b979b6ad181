import cassandra from 'cassandra-driver';

/** A canonical decimal: no sign but a minus, no leading zeros, no whitespace, at most 19 digits. */
const CANONICAL_DECIMAL = /^(0|-?[1-9][0-9]{0,18})$/;
const MIN_LONG = -(2n ** 63n);
const MAX_LONG = 2n ** 63n - 1n;

/**
 * Decimal string ⇄ Cassandra bigint. Refuses a string that is not the one canonical spelling of a
 * 64-bit value (leading zeros, a plus sign, whitespace, a value outside 64 bits that Long would
 * wrap): a second spelling of an id must never reach a row. Ids are canonicalized at the boundary;
 * this is the last line. Through BigInt: Long's own decimal parse and print made a few dozen
 * objects per id, a tenth of all the sequencer allocated.
 */
export function toLong(id: string): cassandra.types.Long {
  const value = CANONICAL_DECIMAL.test(id) ? BigInt(id) : undefined;
  if (value === undefined || value < MIN_LONG || value > MAX_LONG) throw new RangeError('not a canonical 64-bit decimal');
  return bigintToLong(value);
}

/** A 64-bit value as a Cassandra bigint (write timestamps in µs, ids). */
export function bigintToLong(value: bigint): cassandra.types.Long {
  return cassandra.types.Long.fromBits(Number(BigInt.asIntN(32, value)), Number(BigInt.asIntN(32, value >> 32n)));
}

export function fromLong(value: unknown): string {
  return value === null || value === undefined ? '' : String(value);
}

/** bigint column holding a count or seq (< 2^53) as a number. */
export function longToNumber(value: unknown): number {
  if (value === null || value === undefined) return 0;
  return (value as cassandra.types.Long).toNumber();
}
