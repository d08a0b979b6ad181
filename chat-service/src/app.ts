import type { Server } from 'node:http';
import { hostname } from 'node:os';
import type { AddressInfo } from 'node:net';
import { tokenVerifierFromConfig } from '@chat/server/auth';
import { createIdempotentProducer, type CassandraClient, type Kafka, type Redis } from '@chat/server/clients';
import type { Config } from '@chat/server/config';
import { SnowflakeIds, leaseWorkerId } from '@chat/server/ids';
import { cassandraCheck, kafkaCheck, Readiness, redisCheck } from '@chat/server/health';
import { instrumentCassandra, instrumentProducer, trackConsumerLag } from '@chat/server/instrumentation';
import { dlqTopicOf, sequencedTopicFromConfig } from '@chat/server/kafka-topics';
import type { Logger } from '@chat/server/logger';
import { BatchedRedisRateLimiter, RedisRateLimiter } from '@chat/server/rate-limit';
import { RedisKeys } from '@chat/server/redis';
import { sessionRegistryForDelivery } from '@chat/server/routing';
import { attachmentPolicyFromConfig } from './attachments/attachment-policy.js';
import { AttachmentService } from './attachments/attachment-service.js';
import { AttachmentSweeper } from './attachments/attachment-sweeper.js';
import { CassandraAttachmentStore } from './attachments/cassandra-attachment-store.js';
import type { ObjectStorage } from './attachments/object-storage.js';
import { ConversationService } from './conversations/conversation-service.js';
import { Deliverer } from './delivery/deliverer.js';
import { CassandraDeviceStore } from './devices/cassandra-device-store.js';
import { DeviceService } from './devices/device-service.js';
import { registerInternalRoutes } from './http/internal-routes.js';
import { registerPublicRoutes } from './http/public-routes.js';
import { Router } from './http/router.js';
import { createHttpServer } from './http/server.js';
import { createChatMetrics } from './metrics.js';
import { CoalescingMessageStore } from './read/coalescing-message-store.js';
import { LatestSeqs } from './read/latest-seqs.js';
import { ReadService } from './read/read-service.js';
import { CircuitBreaker, type CircuitState } from './resilience/circuit-breaker.js';
import { guardedBy } from './resilience/guard.js';
import { BatchingProducer, type ProducerFactory } from './send/batching-producer.js';
import { IdempotencyCoverage } from './send/idempotency-coverage.js';
import { RedisIdempotencyStore, redisKeepsRecords } from './send/idempotency-store.js';
import { SendService } from './send/send-service.js';
import { MessageConsumer } from './sequencer/message-consumer.js';
import { SequencedPublisher } from './sequencer/sequenced-publisher.js';
import { MAX_CHUNK, Sequencer } from './sequencer/sequencer.js';
import { CassandraConversationListStore } from './inbox/cassandra-conversation-list-store.js';
import { CassandraInboxStore } from './inbox/cassandra-inbox-store.js';
import { CassandraReadStateStore } from './inbox/cassandra-read-state-store.js';
import { InboxService } from './inbox/inbox-service.js';
import { InboxWriter } from './inbox/inbox-writer.js';
import { ReadCounts } from './inbox/read-counts.js';
import { PushStateService } from './inbox/push-state.js';
import { ReceiptPublisher } from './inbox/receipt-publisher.js';
import { CoalescingBatcher } from './store/coalescing-batcher.js';
import { CassandraConversationStore } from './store/cassandra-conversation-store.js';
import { CassandraMessageStore } from './store/cassandra-message-store.js';
import { CassandraSequencedSendStore } from './store/cassandra-sequenced-send-store.js';
import { MembershipCache } from './store/membership-cache.js';
import { RedisMembershipVersions } from './store/membership-versions.js';
import { CassandraSequencerLeases } from './store/sequencer-lease.js';
import { CassandraUserSendDays } from './store/user-send-days.js';

export interface ChatServiceClients {
  redis: Redis;
  /** A duplicate of `redis` used only for subscriptions. */
  redisSub: Redis;
  kafka: Kafka;
  cassandra: CassandraClient;
  /** Makes the send path's idempotent producers; called again to replace one after a failed write. */
  createProducer: ProducerFactory;
  /** The bucket holding attachment bytes (S3_*). */
  objects: ObjectStorage;
}

export interface RunningChatService {
  /** The public REST listener (CHAT_HTTP_PORT); undefined without the api role. */
  publicPort: number | undefined;
  /** The internal listener (CHAT_INTERNAL_PORT): internal API for gateways, /healthz, /metrics. */
  internalPort: number;
  close(): Promise<void>;
}

/** Wires chat-service from ready clients; main.ts and integration tests both call this. */
export async function startChatService(config: Config, log: Logger, clients: ChatServiceClients): Promise<RunningChatService> {
  const metrics = createChatMetrics();
  instrumentCassandra(clients.cassandra, metrics.registry);
  const createProducer = (role: string) => () => instrumentProducer(clients.createProducer(), metrics.registry, role);
  const kafkaProbe = kafkaCheck(clients.kafka);
  const readiness = new Readiness([kafkaProbe, redisCheck(clients.redis), cassandraCheck(clients.cassandra)]);
  const idLog = log.child({ component: 'worker-id' });
  const lease =
    config.WORKER_ID >= 0
      ? null
      : await leaseWorkerId(clients.redis, {
          prefix: config.REDIS_KEY_PREFIX,
          onChange: (e) =>
            e.lost !== undefined
              ? idLog.warn({ workerId: e.lost }, 'worker id lease lost; minting stops until a new one is usable')
              : idLog.info({ workerId: e.leased }, 'worker id leased'),
        });
  const ids = new SnowflakeIds(lease ?? config.WORKER_ID);

  // One circuit breaker per dependency: after consecutive infrastructure failures, requests that
  // need it are answered 4101 at once for a cool-down, then one probe tries again.
  const onBreaker = (state: CircuitState, name: string) => log.warn({ dependency: name, state }, 'circuit breaker');
  const breakerOptions = {
    failureThreshold: config.BREAKER_FAILURE_THRESHOLD,
    cooldownMs: config.BREAKER_COOLDOWN_MS,
    slowCallMs: config.BREAKER_SLOW_CALL_MS,
  };
  const breakers = {
    kafka: new CircuitBreaker('kafka', breakerOptions, onBreaker),
    redis: new CircuitBreaker('redis', breakerOptions, onBreaker),
    cassandra: new CircuitBreaker('cassandra', breakerOptions, onBreaker),
  };
  const keys = new RedisKeys(config.REDIS_KEY_PREFIX);
  const conversationStore = guardedBy(new CassandraConversationStore(clients.cassandra), breakers.cassandra);
  const membership = new MembershipCache(conversationStore, clients.redis, {
    channel: keys.membersChanged(),
    versions: new RedisMembershipVersions(clients.redis, config.REDIS_KEY_PREFIX),
    maxBytes: config.MEMBERSHIP_CACHE_MAX_BYTES,
    missTtlMs: config.CONVERSATION_MISS_CACHE_MS,
  });
  await membership.listen(clients.redisSub);
  // Users' gateways for deliveries and receipts, kept between them until a connect or disconnect announces a change.
  const sessionRegistry = await sessionRegistryForDelivery(clients.redis, clients.redisSub, {
    prefix: config.REDIS_KEY_PREFIX,
    ttlSeconds: config.SESSION_TTL_SECONDS,
    routeCacheMs: config.ROUTE_CACHE_MS,
  });
  const epochOf = async (cid: string) => (await membership.get(cid))?.conversation.epoch ?? null;
  // One batcher per process: every conversation's rows written in the same turn share requests.
  const batcher = new CoalescingBatcher(clients.cassandra);
  const messageStore = new CassandraMessageStore(clients.cassandra, batcher, async (cid) => (await epochOf(cid)) ?? '');
  // Reads share storage work between concurrent readers (a reconnect storm resumes thousands at once).
  // The digest's latest seqs: kept in Redis by the sequencer's deliveries, read by the API.
  const latestSeqs = new LatestSeqs(clients.redis, config.REDIS_KEY_PREFIX, config.LATEST_SEQ_CACHE_SECONDS);
  const reads = new ReadService(membership, new CoalescingMessageStore(messageStore), latestSeqs, {
    historyMaxLimit: config.HISTORY_MAX_LIMIT,
    resumeMaxMessages: config.RESUME_MAX_MESSAGES,
    syncConcurrency: config.SYNC_CONCURRENCY,
  });

  const closers: (() => Promise<void>)[] = [];
  // Two listeners: the public one (api role) serves only the REST API; the internal one, which
  // every process runs, serves the internal API for gateways, /healthz and /metrics.
  const publicRouter = new Router();
  const internalRouter = new Router();

  if (config.CHAT_SERVICE_ROLES.includes('sequencer')) {
    const deliverer = new Deliverer(
      clients.redis,
      config.REDIS_KEY_PREFIX,
      sessionRegistry,
      async (cid) => (await membership.get(cid))?.members ?? null,
      metrics,
      log.child({ component: 'deliverer' }),
    );
    const sequencedSends = new CassandraSequencedSendStore(clients.cassandra, messageStore);
    const consumer = clients.kafka.consumer({ groupId: config.SEQUENCER_GROUP_ID, sessionTimeout: 30_000, heartbeatInterval: 3000, maxWaitTimeInMs: 50 });
    trackConsumerLag(consumer, metrics.registry, config.SEQUENCER_GROUP_ID);
    const dlqProducer = instrumentProducer(createIdempotentProducer(clients.kafka), metrics.registry, 'dlq');
    // Room for every partition's largest chunk at once: a publish refused for room is retried.
    const sequencedProducer = new BatchingProducer(createProducer('sequenced'), breakers.kafka, log.child({ component: 'sequenced-producer' }), {
      maxQueuedMessages: config.KAFKA_MESSAGES_PARTITIONS * MAX_CHUNK,
      maxQueuedBytes: 256 * 1024 * 1024,
    });
    await Promise.all([consumer.connect(), dlqProducer.connect(), sequencedProducer.start()]);
    const sequenced = new SequencedPublisher(sequencedProducer, sequencedTopicFromConfig(config));
    const messageConsumer = new MessageConsumer(
      consumer,
      dlqProducer,
      (clock) =>
        new Sequencer(
          { messages: messageStore, sends: sequencedSends, epochOf, timestamp: () => clock.next() },
          { maxStateBytes: config.SEQUENCER_STATE_MAX_BYTES, onForget: (cid) => messageStore.forgetConversation(cid), earlierOwnersStoppedBy: clock.usableAt },
        ),
      new CassandraSequencerLeases(clients.cassandra),
      {
        deliver: async (messages) => {
          const [published] = await Promise.all([
            deliverer.deliver(messages),
            // Not a delivery failure: the digest serves these seqs late, until their keys expire.
            latestSeqs.raise(messages).catch((err: Error) => log.warn({ err, count: messages.length }, 'digest latest seqs not raised')),
          ]);
          metrics.markDelivered(published);
        },
        publish: (messages) => sequenced.publish(messages),
      },
      log.child({ component: 'sequencer' }),
      metrics,
      {
        topic: config.KAFKA_TOPIC_MESSAGES,
        dlqTopic: dlqTopicOf(config.KAFKA_TOPIC_MESSAGES),
        owner: `${hostname()}:${process.pid}`,
        maxRetries: config.CONSUMER_MAX_RETRIES,
      },
    );
    await messageConsumer.start();
    closers.push(async () => {
      await consumer.disconnect();
      await dlqProducer.disconnect();
      await sequencedProducer.close();
    });
  }

  const inboxStore = guardedBy(new CassandraInboxStore(clients.cassandra), breakers.cassandra);
  const listStore = guardedBy(new CassandraConversationListStore(clients.cassandra), breakers.cassandra);
  const readStates = guardedBy(new CassandraReadStateStore(clients.cassandra), breakers.cassandra);
  if (config.CHAT_SERVICE_ROLES.includes('inbox')) {
    const sequencedTopic = sequencedTopicFromConfig(config);
    const consumer = clients.kafka.consumer({ groupId: config.INBOX_WRITER_GROUP_ID, sessionTimeout: 30_000, heartbeatInterval: 3000, maxWaitTimeInMs: 50 });
    trackConsumerLag(consumer, metrics.registry, config.INBOX_WRITER_GROUP_ID);
    const dlqProducer = instrumentProducer(createIdempotentProducer(clients.kafka), metrics.registry, 'dlq');
    await Promise.all([consumer.connect(), dlqProducer.connect()]);
    const writer = new InboxWriter(
      consumer,
      dlqProducer,
      inboxStore,
      listStore,
      readStates,
      async (cid) => {
        const e = await membership.get(cid);
        return e ? { kind: e.conversation.kind, members: e.members } : null;
      },
      metrics,
      log.child({ component: 'inbox-writer' }),
      {
        topic: sequencedTopic,
        dlqTopic: dlqTopicOf(sequencedTopic),
        fanoutWriteMaxMembers: config.FANOUT_WRITE_MAX_MEMBERS,
        maxRetries: config.CONSUMER_MAX_RETRIES,
      },
    );
    await writer.start();
    closers.push(async () => {
      await consumer.disconnect();
      await dlqProducer.disconnect();
    });
  }

  if (config.CHAT_SERVICE_ROLES.includes('api')) {
    const producer = new BatchingProducer(createProducer('send'), breakers.kafka, log.child({ component: 'send-producer' }), {
      maxQueuedMessages: config.SEND_QUEUE_MAX_MESSAGES,
      maxQueuedBytes: config.SEND_QUEUE_MAX_BYTES,
      connectTimeoutMs: config.SEND_DEADLINE_MS,
    });
    await producer.start();
    const idempotency = guardedBy(new RedisIdempotencyStore(clients.redis, config.REDIS_KEY_PREFIX), breakers.redis);
    const rl = (name: string) => ({ redis: clients.redis, keyPrefix: keys.rateLimit(name), log });
    const attachmentPolicy = attachmentPolicyFromConfig(config);
    const attachmentStore = guardedBy(new CassandraAttachmentStore(clients.cassandra), breakers.cassandra);
    const attachments = new AttachmentService(
      attachmentStore,
      clients.objects,
      membership,
      ids,
      attachmentPolicy,
      new RedisRateLimiter({ ...rl('attachments'), limit: config.RATE_ATTACHMENTS_PER_USER }),
      guardedBy(messageStore, breakers.cassandra),
    );
    if (config.ATTACHMENT_SWEEP_INTERVAL_MS > 0) {
      const sweeper = new AttachmentSweeper(attachmentStore, clients.objects, log.child({ component: 'attachment-sweeper' }), {
        abandonAfterMs: attachmentPolicy.abandonAfterMs,
      });
      sweeper.start(config.ATTACHMENT_SWEEP_INTERVAL_MS);
      closers.push(() => sweeper.stop());
    }
    const keepsRecords = await redisKeepsRecords(clients.redis);
    if (!keepsRecords)
      log.warn('Redis may evict keys (maxmemory set with a policy other than noeviction, or CONFIG refused): every send is checked against durable storage');
    const coverage = new IdempotencyCoverage(idempotency, guardedBy(new CassandraUserSendDays(clients.cassandra), breakers.cassandra), keepsRecords);
    const durableSends = guardedBy(new CassandraSequencedSendStore(clients.cassandra, messageStore), breakers.cassandra);
    const sends = new SendService(membership, idempotency, producer, ids, config.KAFKA_TOPIC_MESSAGES, durableSends, coverage, attachments, metrics);
    const { verifier, close: closeVerifier } = await tokenVerifierFromConfig(config, log);
    closers.push(async () => closeVerifier());
    if (config.RATE_MEMBER_WRITES_PER_USER.points < config.MAX_GROUP_MEMBERS) {
      throw new Error(
        'RATE_MEMBER_WRITES_PER_USER must allow at least MAX_GROUP_MEMBERS member writes per window, or the largest group could never be created',
      );
    }
    const conversations = new ConversationService(
      conversationStore,
      membership,
      messageStore,
      ids,
      config.MAX_GROUP_MEMBERS,
      {
        creations: new RedisRateLimiter({ ...rl('conversations'), limit: config.RATE_CONVERSATIONS_PER_USER }),
        memberWrites: new RedisRateLimiter({ ...rl('member-writes'), limit: config.RATE_MEMBER_WRITES_PER_USER }),
      },
      readStates,
    );
    const restLimits = {
      perAddress: new BatchedRedisRateLimiter({ ...rl('rest-address'), limit: config.RATE_REST_PER_ADDRESS }),
      perUser: new BatchedRedisRateLimiter({ ...rl('rest-user'), limit: config.RATE_REST_PER_USER }),
    };
    const devices = new DeviceService(guardedBy(new CassandraDeviceStore(clients.cassandra), breakers.cassandra));
    const receipts = new ReceiptPublisher(clients.redis, config.REDIS_KEY_PREFIX, sessionRegistry);
    const inbox = new InboxService(inboxStore, listStore, readStates, conversationStore, membership, messageStore, config.FANOUT_WRITE_MAX_MEMBERS, receipts);
    const readCounts = new ReadCounts(readStates, membership, messageStore, { cacheMs: config.READ_COUNT_CACHE_MS });
    registerPublicRoutes(publicRouter, {
      verifier,
      conversations,
      reads,
      attachments,
      devices,
      inbox,
      readCounts,
      maxGroupMembers: config.MAX_GROUP_MEMBERS,
      limits: restLimits,
    });
    closers.push(async () => {
      restLimits.perAddress.close();
      restLimits.perUser.close();
    });
    registerInternalRoutes(internalRouter, {
      internalToken: config.INTERNAL_API_TOKEN,
      sends,
      reads,
      inbox,
      pushStates: new PushStateService(readStates, membership, inbox),
      maxBodyBytes: config.MAX_BODY_BYTES,
      sendDeadlineMs: config.SEND_DEADLINE_MS,
      metrics,
      log: log.child({ component: 'internal-api' }),
    });
    closers.unshift(() => producer.close());
  }

  // A fresh worker id is usable only once any earlier holder's proof has lapsed (a few seconds).
  if (config.CHAT_SERVICE_ROLES.includes('api')) await lease?.ready();
  const internalServer = createHttpServer(internalRouter, log.child({ component: 'internal-http' }), {
    health: readiness,
    metrics: config.METRICS_ENABLED ? metrics.registry : null,
    cors: null,
  });
  const internalPort = await listen(internalServer, config.CHAT_INTERNAL_PORT, config.CHAT_INTERNAL_HOST);
  // Closed last: /readyz answers 503 "draining" while the rest stops.
  closers.push(
    () => closeServer(internalServer),
    () => kafkaProbe.close(),
  );
  let publicPort: number | undefined;
  if (config.CHAT_SERVICE_ROLES.includes('api')) {
    const publicServer = createHttpServer(publicRouter, log.child({ component: 'http' }), {
      health: null,
      metrics: null,
      cors: { allowedOrigins: config.ALLOWED_ORIGINS, maxAgeSeconds: config.CORS_MAX_AGE_SECONDS },
    });
    publicPort = await listen(publicServer, config.CHAT_HTTP_PORT, config.CHAT_HTTP_HOST);
    closers.unshift(() => closeServer(publicServer));
  }
  log.info(
    { host: config.CHAT_HTTP_HOST, port: publicPort, internalHost: config.CHAT_INTERNAL_HOST, internalPort, roles: config.CHAT_SERVICE_ROLES },
    'chat-service listening',
  );

  return {
    publicPort,
    internalPort,
    close: async () => {
      readiness.startDraining();
      for (const close of closers) await close();
      await lease?.release();
    },
  };
}

async function listen(server: Server, port: number, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

function closeServer(server: Server): Promise<void> {
  server.closeIdleConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}
