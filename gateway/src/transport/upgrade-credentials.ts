/** The subprotocol a browser offers as `Sec-WebSocket-Protocol: bearer, <token>`; the gateway selects it. */
export const BEARER_SUBPROTOCOL = 'bearer';

/** Raw upgrade request values, copied out of the uWS request before any await. */
export interface UpgradeHeaders {
  authorization: string;
  secWebSocketProtocol: string;
  /** Raw query string without `?`. */
  query: string;
}

export interface ExtractedToken {
  token: string;
  /** Subprotocol to select in the 101 reply ('' = none). */
  subprotocol: string;
  source: 'header' | 'subprotocol' | 'query';
}

/**
 * Finds the access token of an upgrade request: `Authorization: Bearer <t>`, else the browser form
 * `Sec-WebSocket-Protocol: bearer, <t>`, else `?access_token=<t>`. Returns undefined when none is
 * present. The token is a secret: callers must never log it or the values it came from.
 */
export function extractToken(h: UpgradeHeaders): ExtractedToken | undefined {
  const auth = /^\s*bearer\s+(\S+)\s*$/i.exec(h.authorization);
  if (auth?.[1]) return { token: auth[1], subprotocol: '', source: 'header' };

  if (h.secWebSocketProtocol !== '') {
    const offered = h.secWebSocketProtocol.split(',').map((p) => p.trim());
    const i = offered.findIndex((p) => p.toLowerCase() === BEARER_SUBPROTOCOL);
    const token = i >= 0 ? offered[i + 1] : undefined;
    if (token) return { token, subprotocol: BEARER_SUBPROTOCOL, source: 'subprotocol' };
  }

  if (h.query !== '') {
    const token = new URLSearchParams(h.query).get('access_token');
    if (token) return { token, subprotocol: '', source: 'query' };
  }
  return undefined;
}
