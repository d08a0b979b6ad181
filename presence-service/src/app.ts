import { Readiness, redisCheck, type DependencyCheck } from '@chat/server/health';
import type { MetricsRegistry } from '@chat/server/metrics';
import type { Redis } from '@chat/server/clients';
import { createInternalServer, listenInternal } from '@chat/server/http';
import type { Logger } from '@chat/server/logger';
import { sessionRegistryForDelivery } from '@chat/server/routing';
import { RedisGatewayPublisher } from './gateway-publisher.js';
import type { Membership } from './membership.js';
import { presenceRoutes } from './presence-api.js';
import { resolvePresenceOptions, type PresenceServiceOptions } from './presence-options.js';
import { RedisPresenceStore } from './redis-presence-store.js';
import { startSweeper } from './sweeper.js';
import { TypingRelay } from './typing-relay.js';

/** Clients presence-service receives, created by main.ts (or a test). It never closes them. */
export interface PresenceServiceDeps {
  log: Logger;
  redis: Redis;
  /** A subscriber duplicate of `redis` (createRedisSubscriber), for the route cache's invalidations. */
  redisSub: Redis;
  membership: Membership;
  /** What /readyz probes: the Redis and Cassandra this process uses. @default Redis only */
  checks?: DependencyCheck[];
  /** Served at GET /metrics; null: none. */
  metrics?: MetricsRegistry | null;
}

export interface RunningPresenceService {
  readonly port: number;
  close(): Promise<void>;
}

/** Starts the internal API and the sweeper; resolves once listening. */
export async function startPresenceService(deps: PresenceServiceDeps, options: PresenceServiceOptions): Promise<RunningPresenceService> {
  const o = resolvePresenceOptions(options);
  const log = deps.log.child({ component: 'presence' });
  const store = new RedisPresenceStore(deps.redis, { prefix: o.redisPrefix, ttlMs: o.ttlSeconds * 1000, offlineGraceMs: o.offlineGraceMs });
  // Users' gateways, kept between typing events until a connect or disconnect announces a change.
  const registry = await sessionRegistryForDelivery(deps.redis, deps.redisSub, {
    prefix: o.redisPrefix,
    ttlSeconds: o.sessionTtlSeconds,
    routeCacheMs: o.routeCacheMs,
  });
  const publisher = new RedisGatewayPublisher(deps.redis, registry, o.redisPrefix);
  const typing = new TypingRelay(deps.membership, publisher, log.child({ component: 'typing' }), {
    ttlMs: o.typingTtlMs,
    throttleMs: o.typingThrottleMs,
    maxTypists: o.typingMaxTypists,
  });
  const readiness = new Readiness(deps.checks ?? [redisCheck(deps.redis)]);
  const server = createInternalServer({
    routes: presenceRoutes(store, deps.membership, typing),
    internalToken: o.internalToken,
    log,
    readiness,
    metrics: deps.metrics ?? null,
    unavailableMessage: 'presence backend unavailable',
  });
  server.keepAliveTimeout = 65_000;
  const listener = await listenInternal(server, o.host, o.port);
  const stopSweeper = startSweeper(store, o.sweepIntervalMs, log.child({ component: 'sweeper' }));
  const port = listener.port;
  log.info({ host: o.host, port, ttlSeconds: o.ttlSeconds, sweepIntervalMs: o.sweepIntervalMs }, 'presence-service listening');
  return {
    port,
    close: async () => {
      readiness.startDraining();
      typing.close();
      await stopSweeper();
      await listener.close();
    },
  };
}
