import { MAX_REQUESTS_IN_FLIGHT } from '@chat/protocol';
import { envDefault, type Config, type RateLimit } from '@chat/server/config';
import { hostname } from 'node:os';

/** Everything the gateway reads from configuration, with documented defaults, merged once. */
export interface GatewayOptions {
  /** Unique id of this gateway (routing table value and Redis delivery channel). */
  gatewayId: string;
  /** @default GATEWAY_HOST's default */
  host?: string;
  /** Public WebSocket port; 0 picks a free port. @default GATEWAY_PORT's default */
  port?: number;
  /** Internal listener (/healthz, /metrics) address. @default GATEWAY_INTERNAL_HOST's default */
  internalHost?: string;
  /** Internal listener port; 0 picks a free port. Gateways sharing a host each need their own. @default GATEWAY_INTERNAL_PORT's default */
  internalPort?: number;
  /** Origin allowlist; ['*'] allows any. Requests without Origin are allowed. @default ALLOWED_ORIGINS's default */
  allowedOrigins?: readonly string[];
  /** @default MAX_CONNECTIONS_PER_USER's default */
  maxConnectionsPerUser?: number;
  /** Largest client frame; a larger one closes the socket with CloseCodes.MESSAGE_TOO_BIG. @default MAX_FRAME_BYTES's default */
  maxFrameBytes?: number;
  /**
   * Hard limit uWS enforces itself (it drops the TCP connection without a close frame, which the
   * client observes as 1006). Frames between maxFrameBytes and this get a proper 1009 close.
   * @default 2 * maxFrameBytes
   */
  hardMaxFrameBytes?: number;
  /** @default MAX_BODY_BYTES's default */
  maxBodyBytes?: number;
  /** Per-socket send buffer; a send that would exceed it closes with CloseCodes.SLOW_CONSUMER. @default WS_MAX_BACKPRESSURE_BYTES's default */
  maxBackpressureBytes?: number;
  /** @default WS_IDLE_TIMEOUT_SECONDS's default */
  idleTimeoutSeconds?: number;
  /** @default SESSION_REFRESH_SECONDS's default */
  sessionRefreshSeconds?: number;
  /** TTL of the routing entries (SESSION_TTL_SECONDS): a refresh later than this means deliveries were skipped. @default SESSION_TTL_SECONDS's default */
  sessionTtlSeconds?: number;
  /** @default DRAIN_TIMEOUT_MS's default */
  drainTimeoutMs?: number;
  /** The invalid frame within one window that closes the socket with CloseCodes.PROTOCOL_VIOLATION. @default 20 */
  maxInvalidFrames?: number;
  /** @default 60000 */
  invalidFrameWindowMs?: number;
  /** Requests one socket may have in flight to chat-service before RATE_LIMITED. @default MAX_REQUESTS_IN_FLIGHT */
  maxInflightPerSocket?: number;
  /** Prefix of Redis keys and channels (REDIS_KEY_PREFIX). @default REDIS_KEY_PREFIX's default */
  redisPrefix?: string;
  /** Serve GET /metrics (internal listener). @default METRICS_ENABLED's default */
  metricsEnabled?: boolean;
  /** Presence coalescing window: at most one presence frame per subscriber per window. @default PRESENCE_FLUSH_MS's default */
  presenceFlushMs?: number;
  /** A connection's repeated typing `start` per conversation within this is dropped. @default TYPING_THROTTLE_MS's default */
  typingThrottleMs?: number;
  /** How often each connection gets a `digest` of its recently used conversations; 0 disables. @default DELIVERY_DIGEST_INTERVAL_MS's default */
  digestIntervalMs?: number;
  /** Upgrades per source address (IPv6 per /64), all gateways together; over it HTTP 429. @default RATE_UPGRADES_PER_ADDRESS's default */
  upgradesPerAddress?: RateLimit;
  /** Frames per connection (in memory; no Redis per frame). @default RATE_FRAMES_PER_CONNECTION's default */
  framesPerConnection?: RateLimit;
  /** `send` frames per user, all gateways together. @default RATE_SENDS_PER_USER's default */
  sendsPerUser?: RateLimit;
  /** User ids named in `presence.sub` per user, all gateways together. @default RATE_PRESENCE_IDS_PER_USER's default */
  presenceIdsPerUser?: RateLimit;
}

export type ResolvedGatewayOptions = Required<GatewayOptions>;

export function resolveGatewayOptions(o: GatewayOptions): ResolvedGatewayOptions {
  const maxFrameBytes = o.maxFrameBytes ?? envDefault('MAX_FRAME_BYTES');
  return {
    gatewayId: o.gatewayId,
    host: o.host ?? envDefault('GATEWAY_HOST'),
    port: o.port ?? envDefault('GATEWAY_PORT'),
    internalHost: o.internalHost ?? envDefault('GATEWAY_INTERNAL_HOST'),
    internalPort: o.internalPort ?? envDefault('GATEWAY_INTERNAL_PORT'),
    allowedOrigins: o.allowedOrigins ?? envDefault('ALLOWED_ORIGINS'),
    maxConnectionsPerUser: o.maxConnectionsPerUser ?? envDefault('MAX_CONNECTIONS_PER_USER'),
    maxFrameBytes,
    hardMaxFrameBytes: Math.max(o.hardMaxFrameBytes ?? 2 * maxFrameBytes, maxFrameBytes),
    maxBodyBytes: o.maxBodyBytes ?? envDefault('MAX_BODY_BYTES'),
    maxBackpressureBytes: o.maxBackpressureBytes ?? envDefault('WS_MAX_BACKPRESSURE_BYTES'),
    idleTimeoutSeconds: o.idleTimeoutSeconds ?? envDefault('WS_IDLE_TIMEOUT_SECONDS'),
    sessionRefreshSeconds: o.sessionRefreshSeconds ?? envDefault('SESSION_REFRESH_SECONDS'),
    sessionTtlSeconds: o.sessionTtlSeconds ?? envDefault('SESSION_TTL_SECONDS'),
    drainTimeoutMs: o.drainTimeoutMs ?? envDefault('DRAIN_TIMEOUT_MS'),
    maxInvalidFrames: o.maxInvalidFrames ?? 20,
    invalidFrameWindowMs: o.invalidFrameWindowMs ?? 60_000,
    maxInflightPerSocket: o.maxInflightPerSocket ?? MAX_REQUESTS_IN_FLIGHT,
    redisPrefix: o.redisPrefix ?? envDefault('REDIS_KEY_PREFIX'),
    metricsEnabled: o.metricsEnabled ?? envDefault('METRICS_ENABLED'),
    presenceFlushMs: o.presenceFlushMs ?? envDefault('PRESENCE_FLUSH_MS'),
    typingThrottleMs: o.typingThrottleMs ?? envDefault('TYPING_THROTTLE_MS'),
    digestIntervalMs: o.digestIntervalMs ?? envDefault('DELIVERY_DIGEST_INTERVAL_MS'),
    upgradesPerAddress: o.upgradesPerAddress ?? envDefault('RATE_UPGRADES_PER_ADDRESS'),
    framesPerConnection: o.framesPerConnection ?? envDefault('RATE_FRAMES_PER_CONNECTION'),
    sendsPerUser: o.sendsPerUser ?? envDefault('RATE_SENDS_PER_USER'),
    presenceIdsPerUser: o.presenceIdsPerUser ?? envDefault('RATE_PRESENCE_IDS_PER_USER'),
  };
}

/** `GATEWAY_ID`, or `gw-<hostname>-<pid>` when it is empty. */
export function gatewayIdFrom(config: Pick<Config, 'GATEWAY_ID'>): string {
  return config.GATEWAY_ID !== '' ? config.GATEWAY_ID : `gw-${hostname()}-${process.pid}`;
}

export function gatewayOptionsFromConfig(config: Config): GatewayOptions {
  return {
    gatewayId: gatewayIdFrom(config),
    host: config.GATEWAY_HOST,
    port: config.GATEWAY_PORT,
    internalHost: config.GATEWAY_INTERNAL_HOST,
    internalPort: config.GATEWAY_INTERNAL_PORT,
    allowedOrigins: config.ALLOWED_ORIGINS,
    maxConnectionsPerUser: config.MAX_CONNECTIONS_PER_USER,
    maxFrameBytes: config.MAX_FRAME_BYTES,
    redisPrefix: config.REDIS_KEY_PREFIX,
    maxBodyBytes: config.MAX_BODY_BYTES,
    maxBackpressureBytes: config.WS_MAX_BACKPRESSURE_BYTES,
    idleTimeoutSeconds: config.WS_IDLE_TIMEOUT_SECONDS,
    sessionRefreshSeconds: config.SESSION_REFRESH_SECONDS,
    sessionTtlSeconds: config.SESSION_TTL_SECONDS,
    drainTimeoutMs: config.DRAIN_TIMEOUT_MS,
    metricsEnabled: config.METRICS_ENABLED,
    presenceFlushMs: config.PRESENCE_FLUSH_MS,
    typingThrottleMs: config.TYPING_THROTTLE_MS,
    digestIntervalMs: config.DELIVERY_DIGEST_INTERVAL_MS,
    upgradesPerAddress: config.RATE_UPGRADES_PER_ADDRESS,
    framesPerConnection: config.RATE_FRAMES_PER_CONNECTION,
    sendsPerUser: config.RATE_SENDS_PER_USER,
    presenceIdsPerUser: config.RATE_PRESENCE_IDS_PER_USER,
  };
}
