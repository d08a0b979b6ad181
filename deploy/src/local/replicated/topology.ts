/**
 * The replicated profile: 3 Kafka nodes (combined broker+controller, KRaft), 3 Cassandra nodes
 * (RF 3), a Redis master with one replica watched by 3 sentinels. Ports and addresses are apart
 * from the single-node profile's (16379, 19092/19093, 19042/17000/17199), so both can run at once.
 */

export const HOST = '127.0.0.1';

export interface KafkaNodeSpec {
  name: string;
  nodeId: number;
  port: number;
  controllerPort: number;
}

export interface CassandraNodeSpec {
  name: string;
  /** Each node listens on its own loopback address; storage and native ports are cluster-wide. */
  host: string;
  jmxPort: number;
  /** The node's single token: the ring split in three equal ranges. */
  token: string;
}

export interface RedisNodeSpec {
  name: string;
  port: number;
  /** The node starts as a replica of this one (Sentinel may swap the roles later). */
  replicaOf?: string;
}

export interface SentinelSpec {
  name: string;
  port: number;
}

export const KAFKA_NODES: readonly KafkaNodeSpec[] = [1, 2, 3].map((i) => ({ name: `kafka-${i}`, nodeId: i, port: 29090 + i, controllerPort: 29190 + i }));

export const CASSANDRA_NATIVE_PORT = 29042;
export const CASSANDRA_STORAGE_PORT = 27000;
/** Murmur3 tokens -2^63 + k·2^64/3: equal ranges, so each node owns a third as primary. */
const TOKENS = ['-9223372036854775808', '-3074457345618258603', '3074457345618258602'];
export const CASSANDRA_NODES: readonly CassandraNodeSpec[] = [1, 2, 3].map((i) => ({
  name: `cassandra-${i}`,
  host: `127.0.0.${i + 1}`,
  jmxPort: 27099 + 100 * i,
  token: TOKENS[i - 1]!,
}));
/** The first node is started alone first; the others join it. All are seeds, so any restarts alone. */
export const CASSANDRA_SEEDS = CASSANDRA_NODES.map((n) => `${n.host}:${CASSANDRA_STORAGE_PORT}`);

export const REDIS_NODES: readonly RedisNodeSpec[] = [
  { name: 'redis-1', port: 26381 },
  { name: 'redis-2', port: 26382, replicaOf: 'redis-1' },
];
export const SENTINELS: readonly SentinelSpec[] = [1, 2, 3].map((i) => ({ name: `sentinel-${i}`, port: 26390 + i }));
export const SENTINEL_MASTER_NAME = 'chat-redis';
/** Sentinels agreeing that the master is down before a failover starts. */
export const SENTINEL_QUORUM = 2;
/** A master unanswered this long is subjectively down (the failover bound starts here). */
export const SENTINEL_DOWN_AFTER_MS = 2000;
export const SENTINEL_FAILOVER_TIMEOUT_MS = 10_000;

export const KAFKA_REPLICATION_FACTOR = 3;
export const KAFKA_MIN_INSYNC_REPLICAS = 2;
export const CASSANDRA_REPLICATION = 3;
export const CASSANDRA_LOCAL_DC = 'datacenter1';

/** Small heaps: the whole profile (7 JVM/Redis processes besides the services) fits 2 cores and 24 GiB. */
export const KAFKA_HEAP = { min: '256m', max: '256m' };
export const CASSANDRA_HEAP = '512m';

export type NodeName = string;

/** Every node, in start order of its group. */
export const ALL_NODE_NAMES: readonly NodeName[] = [
  ...REDIS_NODES.map((n) => n.name),
  ...SENTINELS.map((n) => n.name),
  ...KAFKA_NODES.map((n) => n.name),
  ...CASSANDRA_NODES.map((n) => n.name),
];

/** The variables that point services and tests at the replicated profile. */
export function replicatedEnv(keyspace = 'chat'): Record<string, string> {
  return {
    REDIS_URL: `redis://${HOST}:${REDIS_NODES[0]!.port}`,
    REDIS_SENTINELS: SENTINELS.map((s) => `${HOST}:${s.port}`).join(','),
    REDIS_SENTINEL_NAME: SENTINEL_MASTER_NAME,
    KAFKA_BROKERS: KAFKA_NODES.map((n) => `${HOST}:${n.port}`).join(','),
    KAFKA_REPLICATION_FACTOR: String(KAFKA_REPLICATION_FACTOR),
    KAFKA_MIN_INSYNC_REPLICAS: String(KAFKA_MIN_INSYNC_REPLICAS),
    CASSANDRA_CONTACT_POINTS: CASSANDRA_NODES.map((n) => `${n.host}:${CASSANDRA_NATIVE_PORT}`).join(','),
    CASSANDRA_LOCAL_DC,
    CASSANDRA_KEYSPACE: keyspace,
    CASSANDRA_REPLICATION: String(CASSANDRA_REPLICATION),
  };
}
