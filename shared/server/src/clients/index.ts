export { createRedis, createRedisSubscriber, redisTargetFromConfig, type Redis, type RedisTarget } from './redis.js';
export { createIdempotentProducer, createKafka, createTopicsWithLeaders, type Kafka, type Producer } from './kafka.js';
export { createCassandra, sharedNativePort, type CassandraClient, type CassandraOptions } from './cassandra.js';
