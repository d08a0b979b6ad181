import { createHash, timingSafeEqual } from 'node:crypto';

const digest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();

/**
 * Constant-time comparison of a presented secret (e.g. a header value) with the expected one.
 * Both sides are hashed first, so neither the content nor the length of the secret leaks through
 * timing. Anything but a string (a missing or repeated header) is unequal.
 */
export function secretEquals(given: unknown, expected: string): boolean {
  if (typeof given !== 'string') return false;
  return timingSafeEqual(digest(given), digest(expected));
}
