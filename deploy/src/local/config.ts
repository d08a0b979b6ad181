import type { ComponentName } from './paths.js';

/** Pinned versions. The first candidate that Maven Central serves wins; the choice is cached. */
export const KAFKA_VERSIONS = ['3.9.1', '3.9.0'] as const;
export const CASSANDRA_VERSIONS = ['5.0.5', '5.0.4', '5.0.3'] as const;

/** Loopback ports of the components we start ourselves (all moved off the defaults). */
export const PORTS = {
  redis: 16379,
  kafka: 19092,
  kafkaController: 19093,
  cassandraNative: 19042,
  cassandraStorage: 17000,
  cassandraJmx: 17199,
} as const;

export const HOST = '127.0.0.1';

/** Where each component is reached; `external` = the user pointed us at an existing one. */
export interface Endpoints {
  redisUrl: string;
  kafkaBrokers: string[];
  cassandraContactPoints: string[];
  cassandraLocalDc: string;
  cassandraKeyspace: string;
  cassandraReplication: number;
  external: Record<ComponentName, boolean>;
}

function list(v: string): string[] {
  return v
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

export function resolveEndpoints(env: NodeJS.ProcessEnv = process.env): Endpoints {
  const redis = env.REDIS_URL?.trim();
  const kafka = env.KAFKA_BROKERS?.trim();
  const cass = env.CASSANDRA_CONTACT_POINTS?.trim();
  const replication = Number(env.CASSANDRA_REPLICATION ?? '1');
  if (!Number.isInteger(replication) || replication < 1) {
    throw new Error(`CASSANDRA_REPLICATION must be a positive integer, got ${JSON.stringify(env.CASSANDRA_REPLICATION)}`);
  }
  const keyspace = env.CASSANDRA_KEYSPACE?.trim() || 'chat';
  if (!/^[a-z][a-z0-9_]{0,47}$/.test(keyspace)) {
    throw new Error(`CASSANDRA_KEYSPACE must match [a-z][a-z0-9_]{0,47}, got ${JSON.stringify(keyspace)}`);
  }
  return {
    redisUrl: redis || `redis://${HOST}:${PORTS.redis}`,
    kafkaBrokers: kafka ? list(kafka) : [`${HOST}:${PORTS.kafka}`],
    cassandraContactPoints: cass ? list(cass) : [`${HOST}:${PORTS.cassandraNative}`],
    cassandraLocalDc: env.CASSANDRA_LOCAL_DC?.trim() || 'datacenter1',
    cassandraKeyspace: keyspace,
    cassandraReplication: replication,
    external: { redis: Boolean(redis), kafka: Boolean(kafka), cassandra: Boolean(cass) },
  };
}

/** The variables handed to tests and services so they find the infrastructure. */
export function endpointEnv(e: Endpoints): Record<string, string> {
  return {
    REDIS_URL: e.redisUrl,
    KAFKA_BROKERS: e.kafkaBrokers.join(','),
    CASSANDRA_CONTACT_POINTS: e.cassandraContactPoints.join(','),
    CASSANDRA_LOCAL_DC: e.cassandraLocalDc,
    CASSANDRA_KEYSPACE: e.cassandraKeyspace,
  };
}
