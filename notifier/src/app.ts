import { cassandraCheck, kafkaCheck, Readiness, redisCheck } from '@chat/server/health';
import { instrumentCassandra, instrumentProducer, trackConsumerLag } from '@chat/server/instrumentation';
import type { CassandraClient, Kafka, Redis } from '@chat/server/clients';
import { createIdempotentProducer, createTopicsWithLeaders } from '@chat/server/clients';
import type { Config } from '@chat/server/config';
import { sequencedTopicFromConfig } from '@chat/server/kafka-topics';
import type { Logger } from '@chat/server/logger';
import { RedisSessionRegistry } from '@chat/server/routing';
import { createInternalServer, listenInternal } from '@chat/server/http';
import { Dispatcher } from './dispatcher.js';
import type { FcmClient } from './fcm/fcm-app.js';
import { createNotifierMetrics, type NotifierMetrics } from './metrics.js';
import { DeviceDirectory } from './recipients/devices.js';
import { ConversationDirectory } from './recipients/members.js';
import type { RecipientStateLookup } from './recipients/recipient-state.js';
import { SequencedConsumer } from './sequenced-consumer.js';
import { RetryQueue } from './state/retry-queue.js';
import { WindowStore } from './state/window-store.js';

export interface NotifierClients {
  redis: Redis;
  kafka: Kafka;
  cassandra: CassandraClient;
  fcm: FcmClient;
  /** Read state, mute, membership and badge of recipients (ChatServiceRecipientState in production). */
  state: RecipientStateLookup;
}

export interface RunningNotifier {
  internalPort: number;
  metrics: NotifierMetrics;
  close(): Promise<void>;
}

const MEMBERSHIP_CACHE_MS = 5000;

/** Wires the notifier from ready clients; main.ts and integration tests both call this. */
export async function startNotifier(config: Config, log: Logger, clients: NotifierClients): Promise<RunningNotifier> {
  const metrics = createNotifierMetrics();
  instrumentCassandra(clients.cassandra, metrics.registry);
  const kafkaProbe = kafkaCheck(clients.kafka);
  const readiness = new Readiness([kafkaProbe, redisCheck(clients.redis), cassandraCheck(clients.cassandra)]);
  const admin = clients.kafka.admin();
  await admin.connect();
  await createTopicsWithLeaders(admin, [{ topic: config.NOTIFIER_DLQ_TOPIC, numPartitions: 1, replicationFactor: config.KAFKA_REPLICATION_FACTOR }]);
  await admin.disconnect();

  const registry = new RedisSessionRegistry(clients.redis, { prefix: config.REDIS_KEY_PREFIX, ttlSeconds: config.SESSION_TTL_SECONDS });
  const windows = new WindowStore(clients.redis, config.REDIS_KEY_PREFIX);
  const retries = new RetryQueue(clients.redis, config.REDIS_KEY_PREFIX);
  const conversations = new ConversationDirectory(clients.cassandra, MEMBERSHIP_CACHE_MS);
  const dlq = instrumentProducer(createIdempotentProducer(clients.kafka), metrics.registry, 'dlq');
  await dlq.connect();

  const dispatcher = new Dispatcher(
    {
      windows,
      retries,
      conversations,
      devices: new DeviceDirectory(clients.cassandra),
      state: clients.state,
      registry,
      messaging: clients.fcm.messaging,
      retryAfterMs: () => clients.fcm.retryAfter.remainingMs(),
      dlq,
      metrics,
      log: log.child({ component: 'dispatcher' }),
    },
    {
      dlqTopic: config.NOTIFIER_DLQ_TOPIC,
      maxAttempts: config.FCM_MAX_ATTEMPTS,
      retryBaseMs: config.FCM_RETRY_BASE_MS,
      retryMaxMs: config.FCM_RETRY_MAX_MS,
      leaseMs: config.NOTIFIER_CLAIM_LEASE_MS,
      maxInFlight: 1000,
      tickMs: 100,
      concurrency: 32,
      onlineGraceMs: config.NOTIFY_ONLINE_GRACE_MS,
      stateRetryMs: 1000,
    },
  );

  const consumer = clients.kafka.consumer({ groupId: config.NOTIFIER_GROUP_ID, sessionTimeout: 30_000, heartbeatInterval: 3000, maxWaitTimeInMs: 100 });
  trackConsumerLag(consumer, metrics.registry, config.NOTIFIER_GROUP_ID);
  await consumer.connect();
  const sequenced = new SequencedConsumer(
    consumer,
    { windows, conversations, registry, metrics, log: log.child({ component: 'sequenced-consumer' }) },
    sequencedTopicFromConfig(config),
    {
      windowMs: config.NOTIFY_COLLAPSE_WINDOW_MS,
      onlineGraceMs: config.NOTIFY_ONLINE_GRACE_MS,
      largeGroupMembers: config.NOTIFY_LARGE_GROUP_MEMBERS,
      largeGroupWindowMs: config.NOTIFY_LARGE_GROUP_WINDOW_MS,
      previews: config.NOTIFY_PREVIEWS,
    },
  );
  await sequenced.start();
  dispatcher.start();
  const http = await listenInternal(
    createInternalServer({ metrics: config.METRICS_ENABLED ? metrics.registry : null, readiness, log }),
    config.NOTIFIER_INTERNAL_HOST,
    config.NOTIFIER_INTERNAL_PORT,
  );
  log.info({ topic: sequencedTopicFromConfig(config), group: config.NOTIFIER_GROUP_ID, internalPort: http.port }, 'notifier running');

  return {
    internalPort: http.port,
    metrics,
    close: async () => {
      readiness.startDraining();
      await consumer.disconnect();
      await dispatcher.stop();
      await dlq.disconnect();
      await http.close();
      await kafkaProbe.close();
    },
  };
}
