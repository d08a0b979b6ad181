import { Errors } from '@chat/protocol';
import { TokenError, type VerifiedToken } from '@chat/server/auth';
import { isOriginAllowed } from '@chat/server/http';
import type { Logger } from '@chat/server/logger';
import { addressKey, type InstantRateLimiter } from '@chat/server/rate-limit';
import type { SessionRegistry } from '@chat/server/routing';
import type { FloodPenalties } from '../inbound/flood-penalties.js';
import type { GatewayMetrics, RejectReason } from '../gateway-metrics.js';
import type { ResolvedGatewayOptions } from '../gateway-options.js';
import { replyError } from './http-replies.js';
import { newSocketData, type GatewaySocket } from './socket-data.js';
import { extractToken } from './upgrade-credentials.js';
import type { HttpRequest, HttpResponse, us_socket_context_t } from './uws.js';

/** Verifies access tokens (shared TokenVerifier: pinned algorithms, exp/iss/aud checked). */
export interface AccessTokenVerifier {
  /** Resolves with the identity or rejects with TokenError; async when a JWKS refetch is needed. */
  verifyAsync(token: string): Promise<VerifiedToken>;
}

export interface UpgradeDeps {
  verifier: AccessTokenVerifier;
  registry: SessionRegistry;
  metrics: GatewayMetrics;
  log: Logger;
  /** Upgrades per source address (RATE_UPGRADES_PER_ADDRESS), checked before the token is verified. */
  upgradeLimiter: InstantRateLimiter;
  /** Users recently closed with 4502: refused with 429 until their flooded frame window ends. */
  penalties: FloodPenalties;
  options: Pick<ResolvedGatewayOptions, 'gatewayId' | 'allowedOrigins' | 'maxConnectionsPerUser'>;
  nextConnectionId(): string;
  isDraining(): boolean;
  /** An open WebSocket whose cork the upgrade may borrow (see completeUpgrade); undefined when none is open. */
  corkAnchor?(): GatewaySocket | undefined;
}

/**
 * The uWS `upgrade` handler for /ws. The per-address upgrade rate, Origin, authentication and the
 * per-user connection limit are decided here, before any WebSocket exists; refusals are plain
 * HTTP replies with a JSON error body (429 + Retry-After when rate limited). Every attempt counts
 * against its address, refused or not, and the count comes first so a flood costs no token
 * verification. Never logs headers, the query string or the token.
 */
export function createUpgradeHandler(deps: UpgradeDeps): (res: HttpResponse, req: HttpRequest, context: us_socket_context_t) => void {
  const { verifier, registry, metrics, log, options } = deps;

  const refuse = (res: HttpResponse, reason: RejectReason, def: (typeof Errors)[keyof typeof Errors], retryAfterMs?: number): void => {
    metrics.markRejectedUpgrade(reason);
    replyError(res, def, undefined, retryAfterMs);
  };

  return (res, req, context) => {
    // Everything from `req` must be read now: it is invalid after this function returns.
    const secKey = req.getHeader('sec-websocket-key');
    const secProtocol = req.getHeader('sec-websocket-protocol');
    const secExtensions = req.getHeader('sec-websocket-extensions');
    const origin = req.getHeader('origin');
    const address = addressKey(Buffer.from(res.getRemoteAddressAsText()).toString('utf8'));
    const credentials = extractToken({
      authorization: req.getHeader('authorization'),
      secWebSocketProtocol: secProtocol,
      query: req.getQuery() ?? '',
    });

    if (deps.isDraining()) return refuse(res, 'draining', Errors.UNAVAILABLE);
    const wait = deps.upgradeLimiter.take(address);
    if (wait > 0) {
      metrics.markRateLimited('upgrades');
      return refuse(res, 'rate_limited', Errors.RATE_LIMITED, wait);
    }
    if (!isOriginAllowed(origin, options.allowedOrigins)) return refuse(res, 'origin', Errors.ORIGIN_NOT_ALLOWED);
    if (!credentials) return refuse(res, 'unauthorized', Errors.UNAUTHORIZED);
    let aborted = false;
    res.onAborted(() => {
      aborted = true;
    });
    const connectionId = deps.nextConnectionId();

    void (async () => {
      let identity: VerifiedToken;
      try {
        identity = await verifier.verifyAsync(credentials.token);
      } catch (err) {
        if (!(err instanceof TokenError)) log.error({ err }, 'token verification failed unexpectedly');
        else log.debug({ reason: err.message, source: credentials.source }, 'token refused');
        if (!aborted) res.cork(() => refuse(res, 'unauthorized', Errors.UNAUTHORIZED));
        return;
      }
      const { userId } = identity;
      const penalty = deps.penalties.waitMs(userId, Date.now());
      if (penalty > 0) {
        metrics.markRateLimited('upgrades');
        if (!aborted) res.cork(() => refuse(res, 'rate_limited', Errors.RATE_LIMITED, penalty));
        return;
      }
      if (aborted) {
        metrics.markRejectedUpgrade('aborted');
        return;
      }
      let admitted: boolean;
      try {
        admitted = await registry.register(userId, connectionId, options.gatewayId, options.maxConnectionsPerUser);
      } catch (err) {
        log.warn({ err }, 'session registry unavailable; refusing upgrade');
        if (!aborted) res.cork(() => refuse(res, 'unavailable', Errors.UNAVAILABLE));
        return;
      }
      if (aborted || (admitted && deps.isDraining())) {
        if (admitted) await registry.unregister(userId, connectionId).catch((err: Error) => log.warn({ err }, 'unregister failed'));
        if (aborted) metrics.markRejectedUpgrade('aborted');
        else res.cork(() => refuse(res, 'draining', Errors.UNAVAILABLE));
        return;
      }
      if (!admitted) {
        res.cork(() => refuse(res, 'too_many_connections', Errors.TOO_MANY_CONNECTIONS));
        return;
      }
      completeUpgrade(res, deps.corkAnchor?.(), () =>
        res.upgrade(newSocketData(userId, connectionId, identity.expiresAt), secKey, credentials.subprotocol, secExtensions, context),
      );
    })();
  };
}

/**
 * Completes an async upgrade with uWS's cork-callback flag set, so it prints no "writes must be
 * made from within a corked callback" warning, without corking the response itself: in uWS v20.30
 * `HttpResponse::cork` keeps using the response after the upgrade when the reallocated WebSocket
 * lands at the same address, reads WebSocket memory as HTTP state and may shut the fresh connection
 * down (seen as 1006 right after `hello`; presence-instances.test.ts caught it). While another
 * socket (`anchor`) holds the loop's cork, `res.cork` only runs its callback (the response cannot
 * cork), so none of that code runs; the 101 response and `hello` are written directly, as an
 * uncorked upgrade writes them. Without an open socket to borrow (the first connection) the upgrade
 * runs uncorked and uWS prints its warning once.
 */
export function completeUpgrade(res: HttpResponse, anchor: GatewaySocket | undefined, upgrade: () => void): void {
  if (!anchor || anchor.getUserData().closed) upgrade();
  else anchor.cork(() => res.cork(upgrade));
}
