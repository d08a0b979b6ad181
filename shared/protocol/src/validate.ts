/** Minimal field readers for validating untrusted JSON objects; each throws ShapeError with the field name. */
export class ShapeError extends Error {
  constructor(
    readonly field: string,
    reason: string,
  ) {
    super(`${field}: ${reason}`);
    this.name = 'ShapeError';
  }
}

export type Obj = Record<string, unknown>;

export function isObject(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function reqString(o: Obj, field: string, maxLength: number, pattern?: RegExp): string {
  const v = o[field];
  if (typeof v !== 'string' || v.length === 0) throw new ShapeError(field, 'must be a non-empty string');
  if (v.length > maxLength) throw new ShapeError(field, `must be at most ${maxLength} characters`);
  if (pattern && !pattern.test(v)) throw new ShapeError(field, 'has an invalid format');
  return v;
}

export function optString(o: Obj, field: string, maxLength: number, pattern?: RegExp): string | undefined {
  return o[field] === undefined ? undefined : reqString(o, field, maxLength, pattern);
}

export function reqInt(o: Obj, field: string, min: number, max: number): number {
  const v = o[field];
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw new ShapeError(field, 'must be an integer');
  if (v < min || v > max) throw new ShapeError(field, `must be between ${min} and ${max}`);
  // JSON `-0` parses to -0: return the one zero, so an accepted value re-serializes and compares as sent.
  return v === 0 ? 0 : v;
}

export function optInt(o: Obj, field: string, min: number, max: number): number | undefined {
  return o[field] === undefined ? undefined : reqInt(o, field, min, max);
}

export function reqArray(o: Obj, field: string, maxItems: number): unknown[] {
  const v = o[field];
  if (!Array.isArray(v)) throw new ShapeError(field, 'must be an array');
  if (v.length > maxItems) throw new ShapeError(field, `must have at most ${maxItems} items`);
  return v;
}

export function reqEnum<const T extends string>(o: Obj, field: string, values: readonly T[]): T {
  const v = o[field];
  if (typeof v !== 'string' || !values.includes(v as T)) throw new ShapeError(field, `must be one of ${values.join(', ')}`);
  return v as T;
}

/** Conversation and message ids are parsed with parseCanonicalId (canonical-id.ts); user ids are opaque JWT subjects. */
export const USER_ID_PATTERN = /^[A-Za-z0-9._:@-]{1,128}$/;
export const CLIENT_MSG_ID_PATTERN = /^[A-Za-z0-9._:-]{1,64}$/;
