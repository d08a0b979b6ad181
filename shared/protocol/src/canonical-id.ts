import { ShapeError, type Obj } from './validate.js';

/** Ids are signed 64-bit integers (Cassandra bigint, Snowflake): every valid id is below this. */
export const ID_LIMIT = 1n << 63n;

/** Canonical decimal form: no sign, no leading zero, at most 19 digits (2^63 has 19). */
const CANONICAL_DIGITS = /^[1-9][0-9]{0,18}$/;

/**
 * The one parser of conversation and message ids at every boundary (WebSocket frames, REST paths
 * and bodies, internal API, Kafka records). Accepts exactly the canonical form: decimal, no
 * leading zeros, 1 ≤ id < 2^63; returns the string re-serialized from the parsed value, so two
 * spellings of one id can never reach two code paths. Anything else (not a string, "007",
 * "+7", " 7", "0", 2^63 or more, which a 64-bit conversion would wrap) is undefined.
 */
export function parseCanonicalId(value: unknown): string | undefined {
  if (typeof value !== 'string' || !CANONICAL_DIGITS.test(value)) return undefined;
  const n = BigInt(value);
  return n >= 1n && n < ID_LIMIT ? n.toString() : undefined;
}

/** A required canonical id field; throws ShapeError naming the field. */
export function reqId(o: Obj, field: string): string {
  const id = parseCanonicalId(o[field]);
  if (id === undefined) throw new ShapeError(field, 'must be a canonical id (decimal, no leading zeros, 1 ≤ id < 2^63)');
  return id;
}
