/**
 * Browser Origin allowlist. A request without an Origin header (native clients) is allowed;
 * `*` in the list allows every origin. Comparison ignores case and a trailing slash.
 */
export function isOriginAllowed(origin: string, allowed: readonly string[]): boolean {
  if (origin === '' || allowed.includes('*')) return true;
  const norm = (o: string): string => o.trim().replace(/\/+$/, '').toLowerCase();
  const o = norm(origin);
  return allowed.some((a) => norm(a) === o);
}
