/** An origin-form request target split into its path and query. */
export interface RequestTarget {
  /** The raw (still percent-encoded) path, always starting with "/". */
  pathname: string;
  query: URLSearchParams;
}

/**
 * Splits a request target ("/path?query") without `new URL`, which throws on targets such as
 * "//" (an empty authority). Anything that is not origin-form ("*", "http://host/x", "") is
 * undefined. Never throws: URLSearchParams keeps malformed `%` escapes as they are.
 */
export function parseRequestTarget(raw: string | undefined): RequestTarget | undefined {
  if (raw === undefined || !raw.startsWith('/')) return undefined;
  const hash = raw.indexOf('#');
  const target = hash >= 0 ? raw.slice(0, hash) : raw;
  const q = target.indexOf('?');
  return q >= 0 ? { pathname: target.slice(0, q), query: new URLSearchParams(target.slice(q + 1)) } : { pathname: target, query: new URLSearchParams() };
}

/** decodeURIComponent that answers undefined for a malformed escape instead of throwing. */
export function decodePathSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}
