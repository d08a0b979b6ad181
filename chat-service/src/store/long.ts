import cassandra from 'cassandra-driver';

/** Decimal id string ⇄ Cassandra bigint. */
export function toLong(id: string): cassandra.types.Long {
  return cassandra.types.Long.fromString(id);
}

export function fromLong(value: unknown): string {
  return value === null || value === undefined ? '' : String(value);
}

/** bigint column holding a count or seq (< 2^53) as a number. */
export function longToNumber(value: unknown): number {
  if (value === null || value === undefined) return 0;
  return (value as cassandra.types.Long).toNumber();
}
