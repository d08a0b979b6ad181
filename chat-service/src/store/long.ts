import cassandra from 'cassandra-driver';

/**
 * Decimal string ⇄ Cassandra bigint. Refuses a string that does not round-trip (leading zeros,
 * a sign or whitespace, a value outside 64 bits that Long would wrap): a second spelling of an id
 * must never reach a row. Ids are canonicalized at the boundary; this is the last line.
 */
export function toLong(id: string): cassandra.types.Long {
  const long = cassandra.types.Long.fromString(id);
  if (long.toString() !== id) throw new RangeError('not a canonical 64-bit decimal');
  return long;
}

export function fromLong(value: unknown): string {
  return value === null || value === undefined ? '' : String(value);
}

/** bigint column holding a count or seq (< 2^53) as a number. */
export function longToNumber(value: unknown): number {
  if (value === null || value === undefined) return 0;
  return (value as cassandra.types.Long).toNumber();
}
