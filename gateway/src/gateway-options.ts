import type { Config, RateLimit } from '@chat/server/config';
import { hostname } from 'node:os';

/** Everything the gateway reads from configuration, with documented defaults, merged once. */
export interface GatewayOptions {
  /** Unique id of this gateway (routing table value and Redis delivery channel). */
  gatewayId: string;
  /** @default '127.0.0.1' */
  host?: string;
  /** Public WebSocket port; 0 picks a free port. @default 8081 */
  port?: number;
  /** Internal listener (/healthz, /metrics) address. @default '127.0.0.1' */
  internalHost?: string;
  /** Internal listener port; 0 picks a free port. Gateways sharing a host each need their own. @default 8091 */
  internalPort?: number;
  /** Origin allowlist; ['*'] allows any. Requests without Origin are allowed. @default ['*'] */
  allowedOrigins?: readonly string[];
  /** @default 10 */
  maxConnectionsPerUser?: number;
  /** Largest client frame; a larger one closes the socket with CloseCodes.MESSAGE_TOO_BIG. @default 65536 */
  maxFrameBytes?: number;
  /**
   * Hard limit uWS enforces itself (it drops the TCP connection without a close frame, which the
   * client observes as 1006). Frames between maxFrameBytes and this get a proper 1009 close.
   * @default 2 * maxFrameBytes
   */
  hardMaxFrameBytes?: number;
  /** @default 16384 */
  maxBodyBytes?: number;
  /** Per-socket send buffer; a send that would exceed it closes with CloseCodes.SLOW_CONSUMER. @default 1048576 */
  maxBackpressureBytes?: number;
  /** @default 60 */
  idleTimeoutSeconds?: number;
  /** @default 20 */
  sessionRefreshSeconds?: number;
  /** TTL of the routing entries (SESSION_TTL_SECONDS): a refresh later than this means deliveries were skipped. @default 60 */
  sessionTtlSeconds?: number;
  /** @default 5000 */
  drainTimeoutMs?: number;
  /** The invalid frame within one window that closes the socket with CloseCodes.PROTOCOL_VIOLATION. @default 20 */
  maxInvalidFrames?: number;
  /** @default 60000 */
  invalidFrameWindowMs?: number;
  /** Requests one socket may have in flight to chat-service before RATE_LIMITED. @default 32 */
  maxInflightPerSocket?: number;
  /** Prefix of Redis keys and channels (REDIS_KEY_PREFIX). @default 'chat:' */
  redisPrefix?: string;
  /** Serve GET /metrics (internal listener). @default true */
  metricsEnabled?: boolean;
  /** Presence coalescing window: at most one presence frame per subscriber per window. @default 1000 */
  presenceFlushMs?: number;
  /** A connection's repeated typing `start` per conversation within this is dropped. @default 1000 */
  typingThrottleMs?: number;
  /** How often each connection gets a `digest` of its recently used conversations; 0 disables. @default 30000 */
  digestIntervalMs?: number;
  /** Upgrades per source address (IPv6 per /64), all gateways together; over it HTTP 429. @default 5000 per 10 s */
  upgradesPerAddress?: RateLimit;
  /** Frames per connection (in memory; no Redis per frame). @default 600 per 10 s */
  framesPerConnection?: RateLimit;
  /** `send` frames per user, all gateways together. @default 500 per 10 s */
  sendsPerUser?: RateLimit;
  /** User ids named in `presence.sub` per user, all gateways together. @default 5000 per 60 s */
  presenceIdsPerUser?: RateLimit;
}

export type ResolvedGatewayOptions = Required<GatewayOptions>;

export function resolveGatewayOptions(o: GatewayOptions): ResolvedGatewayOptions {
  const maxFrameBytes = o.maxFrameBytes ?? 65536;
  return {
    gatewayId: o.gatewayId,
    host: o.host ?? '127.0.0.1',
    port: o.port ?? 8081,
    internalHost: o.internalHost ?? '127.0.0.1',
    internalPort: o.internalPort ?? 8091,
    allowedOrigins: o.allowedOrigins ?? ['*'],
    maxConnectionsPerUser: o.maxConnectionsPerUser ?? 10,
    maxFrameBytes,
    hardMaxFrameBytes: Math.max(o.hardMaxFrameBytes ?? 2 * maxFrameBytes, maxFrameBytes),
    maxBodyBytes: o.maxBodyBytes ?? 16384,
    maxBackpressureBytes: o.maxBackpressureBytes ?? 1024 * 1024,
    idleTimeoutSeconds: o.idleTimeoutSeconds ?? 60,
    sessionRefreshSeconds: o.sessionRefreshSeconds ?? 20,
    sessionTtlSeconds: o.sessionTtlSeconds ?? 60,
    drainTimeoutMs: o.drainTimeoutMs ?? 5000,
    maxInvalidFrames: o.maxInvalidFrames ?? 20,
    invalidFrameWindowMs: o.invalidFrameWindowMs ?? 60_000,
    maxInflightPerSocket: o.maxInflightPerSocket ?? 32,
    redisPrefix: o.redisPrefix ?? 'chat:',
    metricsEnabled: o.metricsEnabled ?? true,
    presenceFlushMs: o.presenceFlushMs ?? 1000,
    typingThrottleMs: o.typingThrottleMs ?? 1000,
    digestIntervalMs: o.digestIntervalMs ?? 30_000,
    upgradesPerAddress: o.upgradesPerAddress ?? { points: 5000, durationSeconds: 10 },
    framesPerConnection: o.framesPerConnection ?? { points: 600, durationSeconds: 10 },
    sendsPerUser: o.sendsPerUser ?? { points: 500, durationSeconds: 10 },
    presenceIdsPerUser: o.presenceIdsPerUser ?? { points: 5000, durationSeconds: 60 },
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
