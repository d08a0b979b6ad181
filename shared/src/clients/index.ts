export { createRedis, createRedisSubscriber, type Redis } from './redis.js';
export { createIdempotentProducer, createKafka, createTopicsWithLeaders, type Kafka, type Producer } from './kafka.js';
export { createCassandra, type CassandraClient, type CassandraOptions } from './cassandra.js';
