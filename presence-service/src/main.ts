import { createCassandra, createRedis, createRedisSubscriber, redisTargetFromConfig } from '@chat/server/clients';
import { loadConfigOrExit } from '@chat/server/config';
import { cassandraCheck, redisCheck } from '@chat/server/health';
import { instrumentCassandra } from '@chat/server/instrumentation';
import { createLogger } from '@chat/server/logger';
import { createMetricsRegistry } from '@chat/server/metrics';
import { onShutdown } from '@chat/server/shutdown';
import { startPresenceService } from './app.js';
import { CassandraMembership } from './membership.js';
import { presenceOptionsFromConfig } from './presence-options.js';

const config = loadConfigOrExit();
const log = createLogger('presence-service', config.LOG_LEVEL);
if (config.PRESENCE_TTL_SECONDS <= config.SESSION_REFRESH_SECONDS) {
  log.fatal({ ttl: config.PRESENCE_TTL_SECONDS, heartbeat: config.SESSION_REFRESH_SECONDS }, 'PRESENCE_TTL_SECONDS must exceed SESSION_REFRESH_SECONDS');
  process.exit(78);
}

const redis = createRedis(redisTargetFromConfig(config), log, 'presence');
const redisSub = createRedisSubscriber(redis, log, 'presence-sub');
const cassandra = createCassandra(
  { contactPoints: config.CASSANDRA_CONTACT_POINTS, localDataCenter: config.CASSANDRA_LOCAL_DC, keyspace: config.CASSANDRA_KEYSPACE },
  log,
);
const membership = new CassandraMembership(cassandra, config.PRESENCE_MEMBERSHIP_CACHE_MS);
// Best effort: Cassandra may still be starting (readiness reports it); the first reads then prepare.
membership.prepare().catch((err: Error) => log.warn({ err }, 'preparing the membership reads failed; the first reads will prepare them'));

const metrics = config.METRICS_ENABLED ? createMetricsRegistry('presence-service') : null;
if (metrics) instrumentCassandra(cassandra, metrics);
const checks = [redisCheck(redis), cassandraCheck(cassandra)];
const service = await startPresenceService({ log, redis, redisSub, membership, checks, metrics }, presenceOptionsFromConfig(config)).catch((err: Error) => {
  log.fatal({ err }, 'presence-service failed to start');
  process.exit(1);
});

onShutdown(log, [() => service.close(), () => Promise.allSettled([cassandra.shutdown(), redis.quit(), redisSub.quit()])], {
  deadlineMs: config.SHUTDOWN_DEADLINE_MS,
});
