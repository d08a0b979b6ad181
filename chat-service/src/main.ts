import { createCassandra, createIdempotentProducer, createKafka, createRedis, createRedisSubscriber, redisTargetFromConfig } from '@chat/server/clients';
import { loadConfigOrExit } from '@chat/server/config';
import { createLogger } from '@chat/server/logger';
import { onShutdown } from '@chat/server/shutdown';
import { startChatService } from './app.js';
import { createS3ObjectStorage, s3SettingsFromConfig } from './attachments/s3-object-storage.js';

const config = loadConfigOrExit();
const log = createLogger('chat-service', config.LOG_LEVEL);
const redis = createRedis(redisTargetFromConfig(config), log, 'chat-service');
const redisSub = createRedisSubscriber(redis, log, 'chat-service-sub');
const kafka = createKafka(config.KAFKA_BROKERS, `${config.KAFKA_CLIENT_ID}-chat-service`, log);
const cassandra = createCassandra(
  { contactPoints: config.CASSANDRA_CONTACT_POINTS, localDataCenter: config.CASSANDRA_LOCAL_DC, keyspace: config.CASSANDRA_KEYSPACE },
  log,
);

const s3 = createS3ObjectStorage(s3SettingsFromConfig(config));

const service = await startChatService(config, log, {
  redis,
  redisSub,
  kafka,
  cassandra,
  createProducer: () => createIdempotentProducer(kafka),
  objects: s3.storage,
});

onShutdown(log, [() => service.close(), () => cassandra.shutdown(), () => s3.close(), () => redisSub.disconnect(), () => redis.quit()], {
  deadlineMs: config.SHUTDOWN_DEADLINE_MS,
});
