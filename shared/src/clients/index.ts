export { createRedis, createRedisSubscriber, type Redis } from './redis.js';
export { createKafka, createTopicsWithLeaders, type Kafka } from './kafka.js';
export { createCassandra, type CassandraClient, type CassandraOptions } from './cassandra.js';
