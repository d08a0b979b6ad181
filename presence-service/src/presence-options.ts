import type { Config } from '@chat/server/config';

/** Everything presence-service reads from configuration, with documented defaults, merged once. */
export interface PresenceServiceOptions {
  /** @default '127.0.0.1' */
  host?: string;
  /** 0 picks a free port. @default 8083 */
  port?: number;
  /** Shared secret gateways present (INTERNAL_API_TOKEN). */
  internalToken: string;
  /** @default 'chat:' */
  redisPrefix?: string;
  /** @default 60 */
  ttlSeconds?: number;
  /** @default 5000 */
  sweepIntervalMs?: number;
  /** @default 3000 */
  offlineGraceMs?: number;
  /** @default 10000 */
  membershipCacheMs?: number;
  /** TTL of routing entries, for the session registry the typing relay reads. @default 60 */
  sessionTtlSeconds?: number;
  /** @default 3000 */
  typingTtlMs?: number;
  /** @default 1000 */
  typingThrottleMs?: number;
  /** @default 5 */
  typingMaxTypists?: number;
}

export type ResolvedPresenceServiceOptions = Required<PresenceServiceOptions>;

export function resolvePresenceOptions(o: PresenceServiceOptions): ResolvedPresenceServiceOptions {
  return {
    host: o.host ?? '127.0.0.1',
    port: o.port ?? 8083,
    internalToken: o.internalToken,
    redisPrefix: o.redisPrefix ?? 'chat:',
    ttlSeconds: o.ttlSeconds ?? 60,
    sweepIntervalMs: o.sweepIntervalMs ?? 5000,
    offlineGraceMs: o.offlineGraceMs ?? 3000,
    membershipCacheMs: o.membershipCacheMs ?? 10_000,
    sessionTtlSeconds: o.sessionTtlSeconds ?? 60,
    typingTtlMs: o.typingTtlMs ?? 3000,
    typingThrottleMs: o.typingThrottleMs ?? 1000,
    typingMaxTypists: o.typingMaxTypists ?? 5,
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
    typingTtlMs: config.TYPING_TTL_MS,
    typingThrottleMs: config.TYPING_THROTTLE_MS,
    typingMaxTypists: config.TYPING_MAX_TYPISTS,
  };
}
