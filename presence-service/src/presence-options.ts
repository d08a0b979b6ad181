import { envDefault, type Config } from '@chat/server/config';

/** Everything presence-service reads from configuration, with documented defaults, merged once. */
export interface PresenceServiceOptions {
  /** @default PRESENCE_HTTP_HOST's default */
  host?: string;
  /** 0 picks a free port. @default PRESENCE_HTTP_PORT's default */
  port?: number;
  /** Shared secret gateways present (INTERNAL_API_TOKEN). */
  internalToken: string;
  /** @default REDIS_KEY_PREFIX's default */
  redisPrefix?: string;
  /** @default PRESENCE_TTL_SECONDS's default */
  ttlSeconds?: number;
  /** @default PRESENCE_SWEEP_INTERVAL_MS's default */
  sweepIntervalMs?: number;
  /** @default PRESENCE_OFFLINE_GRACE_MS's default */
  offlineGraceMs?: number;
  /** @default PRESENCE_MEMBERSHIP_CACHE_MS's default */
  membershipCacheMs?: number;
  /** TTL of routing entries, for the session registry the typing relay reads. @default SESSION_TTL_SECONDS's default */
  sessionTtlSeconds?: number;
  /** How long the typing relay keeps users' gateways without an invalidation; 0: read every time. @default ROUTE_CACHE_MS's default */
  routeCacheMs?: number;
  /** @default TYPING_TTL_MS's default */
  typingTtlMs?: number;
  /** @default TYPING_THROTTLE_MS's default */
  typingThrottleMs?: number;
  /** @default TYPING_MAX_TYPISTS's default */
  typingMaxTypists?: number;
}

export type ResolvedPresenceServiceOptions = Required<PresenceServiceOptions>;

export function resolvePresenceOptions(o: PresenceServiceOptions): ResolvedPresenceServiceOptions {
  return {
    host: o.host ?? envDefault('PRESENCE_HTTP_HOST'),
    port: o.port ?? envDefault('PRESENCE_HTTP_PORT'),
    internalToken: o.internalToken,
    redisPrefix: o.redisPrefix ?? envDefault('REDIS_KEY_PREFIX'),
    ttlSeconds: o.ttlSeconds ?? envDefault('PRESENCE_TTL_SECONDS'),
    sweepIntervalMs: o.sweepIntervalMs ?? envDefault('PRESENCE_SWEEP_INTERVAL_MS'),
    offlineGraceMs: o.offlineGraceMs ?? envDefault('PRESENCE_OFFLINE_GRACE_MS'),
    membershipCacheMs: o.membershipCacheMs ?? envDefault('PRESENCE_MEMBERSHIP_CACHE_MS'),
    sessionTtlSeconds: o.sessionTtlSeconds ?? envDefault('SESSION_TTL_SECONDS'),
    routeCacheMs: o.routeCacheMs ?? envDefault('ROUTE_CACHE_MS'),
    typingTtlMs: o.typingTtlMs ?? envDefault('TYPING_TTL_MS'),
    typingThrottleMs: o.typingThrottleMs ?? envDefault('TYPING_THROTTLE_MS'),
    typingMaxTypists: o.typingMaxTypists ?? envDefault('TYPING_MAX_TYPISTS'),
  };
}

export function presenceOptionsFromConfig(config: Config): PresenceServiceOptions {
  return {
    host: config.PRESENCE_HTTP_HOST,
    port: config.PRESENCE_HTTP_PORT,
    internalToken: config.INTERNAL_API_TOKEN,
    redisPrefix: config.REDIS_KEY_PREFIX,
    ttlSeconds: config.PRESENCE_TTL_SECONDS,
    sweepIntervalMs: config.PRESENCE_SWEEP_INTERVAL_MS,
    offlineGraceMs: config.PRESENCE_OFFLINE_GRACE_MS,
    membershipCacheMs: config.PRESENCE_MEMBERSHIP_CACHE_MS,
    sessionTtlSeconds: config.SESSION_TTL_SECONDS,
    routeCacheMs: config.ROUTE_CACHE_MS,
    typingTtlMs: config.TYPING_TTL_MS,
    typingThrottleMs: config.TYPING_THROTTLE_MS,
    typingMaxTypists: config.TYPING_MAX_TYPISTS,
  };
}
