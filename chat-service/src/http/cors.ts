import type { IncomingMessage, ServerResponse } from 'node:http';
import { ChatError, Errors } from '@chat/protocol';
import { isOriginAllowed } from '@chat/server/http';

export interface CorsOptions {
  /** Browser origins allowed to call the REST API (ALLOWED_ORIGINS); `*` allows any. */
  allowedOrigins: readonly string[];
  /** How long a browser may cache a preflight answer (CORS_MAX_AGE_SECONDS). */
  maxAgeSeconds: number;
}

/** Request headers a browser may send: the bearer token and JSON bodies. */
const ALLOWED_HEADERS = 'authorization, content-type';
/** Response headers a browser script may read besides the CORS-safelisted ones. */
const EXPOSED_HEADERS = 'retry-after';

/**
 * CORS for the public REST API. Requests without an Origin header (native clients, curl) pass
 * untouched. A request from an origin outside the allowlist is refused with 4011 (403) before any
 * handler runs, so a page on another origin cannot make the API act even with requests a browser
 * sends without preflight. An allowed origin is echoed (never `*`, so caches key on `Vary: Origin`).
 *
 * Returns true when the request was a preflight and has been answered.
 * `methodsFor` names the methods the path serves (empty: no such path).
 */
export function handleCors(
  req: IncomingMessage,
  res: ServerResponse,
  options: CorsOptions,
  methodsFor: (pathname: string) => string[],
  pathname: string,
): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return false;
  res.setHeader('vary', 'Origin');
  if (!isOriginAllowed(origin, options.allowedOrigins)) throw new ChatError(Errors.ORIGIN_NOT_ALLOWED, 'this Origin may not call the API');
  res.setHeader('access-control-allow-origin', origin);
  const requestedMethod = req.headers['access-control-request-method'];
  if (req.method !== 'OPTIONS' || requestedMethod === undefined) {
    res.setHeader('access-control-expose-headers', EXPOSED_HEADERS);
    return false;
  }
  const methods = methodsFor(pathname);
  if (methods.length === 0) throw new ChatError(Errors.NOT_FOUND, 'no such endpoint');
  res.writeHead(204, {
    'access-control-allow-methods': methods.join(', '),
    'access-control-allow-headers': ALLOWED_HEADERS,
    'access-control-max-age': String(options.maxAgeSeconds),
    'content-length': '0',
  });
  res.end();
  return true;
}
