/**
 * chat-service for benchmark runs: the real `startChatService` wiring of chat-service/src/main.ts,
 * but on a Kafka topic and consumer group of its own (BENCH_KAFKA_TOPIC), so a run never shares
 * partitions or a consumer group with another chat-service on the same broker. The topics are
 * created at start and deleted at shutdown.
 */
import { startChatService } from '@chat/chat-service/app';
import { createCassandra, createKafka, createLogger, createRedis, createRedisSubscriber, loadConfigOrExit } from '@chat/shared';

const config = loadConfigOrExit();
const log = createLogger('chat-service', config.LOG_LEVEL);
const topic = process.env.BENCH_KAFKA_TOPIC;
if (!topic) {
  process.stderr.write('BENCH_KAFKA_TOPIC is required\n');
  process.exit(64);
}
const partitions = Number(process.env.BENCH_KAFKA_PARTITIONS ?? '12');
const dlqTopic = `${topic}.dlq`;
const redis = createRedis(config.REDIS_URL, log, 'chat-service');
const redisSub = createRedisSubscriber(redis, log, 'chat-service-sub');
const kafka = createKafka(config.KAFKA_BROKERS, `${config.KAFKA_CLIENT_ID}-bench-chat-service`, log);
const admin = kafka.admin();
await admin.connect();
await admin.createTopics({
  waitForLeaders: true,
  topics: [
    { topic, numPartitions: partitions, replicationFactor: 1, configEntries: [{ name: 'min.insync.replicas', value: '1' }] },
    { topic: dlqTopic, numPartitions: 1, replicationFactor: 1 },
  ],
});
const cassandra = createCassandra(
  { contactPoints: config.CASSANDRA_CONTACT_POINTS, localDataCenter: config.CASSANDRA_LOCAL_DC, keyspace: config.CASSANDRA_KEYSPACE },
  log,
);
const service = await startChatService(config, log, { redis, redisSub, kafka, cassandra }, { topic, dlqTopic, groupId: `${topic}.sequencer` });

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, 'shutting down');
  await service.close().catch(() => undefined);
  await admin.deleteTopics({ topics: [topic!, dlqTopic], timeout: 5000 }).catch(() => undefined);
  await admin.deleteGroups([`${topic}.sequencer`]).catch(() => undefined);
  await admin.disconnect().catch(() => undefined);
  await cassandra.shutdown().catch(() => undefined);
  redisSub.disconnect();
  await redis.quit().catch(() => undefined);
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
