import { loadConfigVars } from '@chat/server/config';
import type { ComponentName } from './paths.js';

/** Pinned versions. The first candidate that Maven Central serves wins; the choice is cached. */
export const KAFKA_VERSIONS = ['3.9.1', '3.9.0'] as const;
export const CASSANDRA_VERSIONS = ['5.0.5', '5.0.4', '5.0.3'] as const;
export const S3PROXY_VERSIONS = ['2.6.0'] as const;

/** Loopback ports of the components we start ourselves (all moved off the defaults). */
export const PORTS = {
  redis: 16379,
  kafka: 19092,
  kafkaController: 19093,
  cassandraNative: 19042,
  cassandraStorage: 17000,
  cassandraJmx: 17199,
  s3: 19000,
} as const;

/** The S3-compatible store's port: CHAT_S3_PORT, so a second checkout can run its own beside shared infrastructure. */
export function s3Port(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.CHAT_S3_PORT?.trim();
  if (!raw) return PORTS.s3;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`CHAT_S3_PORT must be a port number, got ${JSON.stringify(raw)}`);
  return port;
}

const devS3 = loadConfigVars(['S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY'], {});
/** Credentials of the local S3Proxy: the services' development defaults, so they find it without configuration. */
export const LOCAL_S3_CREDENTIALS = { accessKeyId: devS3.S3_ACCESS_KEY_ID, secretAccessKey: devS3.S3_SECRET_ACCESS_KEY } as const;

/** Where attachments are stored and how they are reached (an S3-compatible store). */
export interface S3Target {
  endpoint: string;
  region: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  forcePathStyle: boolean;
}

export const HOST = '127.0.0.1';

/** Where each component is reached; `external` = the user pointed us at an existing one. */
export interface Endpoints {
  redisUrl: string;
  kafkaBrokers: string[];
  cassandraContactPoints: string[];
  cassandraLocalDc: string;
  cassandraKeyspace: string;
  cassandraReplication: number;
  s3: S3Target;
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
  const s3 = env.S3_ENDPOINT?.trim();
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
    s3: {
      endpoint: s3 || `http://${HOST}:${s3Port(env)}`,
      region: env.S3_REGION?.trim() || 'us-east-1',
      bucket: bucketName(env.S3_BUCKET?.trim() || 'chat-attachments'),
      accessKeyId: env.S3_ACCESS_KEY_ID?.trim() || LOCAL_S3_CREDENTIALS.accessKeyId,
      secretAccessKey: env.S3_SECRET_ACCESS_KEY?.trim() || LOCAL_S3_CREDENTIALS.secretAccessKey,
      forcePathStyle: env.S3_FORCE_PATH_STYLE?.trim() !== 'false',
    },
    external: { redis: Boolean(redis), kafka: Boolean(kafka), cassandra: Boolean(cass), s3: Boolean(s3) },
  };
}

function bucketName(name: string): string {
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(name))
    throw new Error(`S3_BUCKET must be a valid bucket name (3-63 of a-z 0-9 . -), got ${JSON.stringify(name)}`);
  return name;
}

/** The variables handed to tests and services so they find the infrastructure. */
export function endpointEnv(e: Endpoints): Record<string, string> {
  return {
    REDIS_URL: e.redisUrl,
    KAFKA_BROKERS: e.kafkaBrokers.join(','),
    CASSANDRA_CONTACT_POINTS: e.cassandraContactPoints.join(','),
    CASSANDRA_LOCAL_DC: e.cassandraLocalDc,
    CASSANDRA_KEYSPACE: e.cassandraKeyspace,
    S3_ENDPOINT: e.s3.endpoint,
    S3_REGION: e.s3.region,
    S3_BUCKET: e.s3.bucket,
    S3_FORCE_PATH_STYLE: String(e.s3.forcePathStyle),
    // Credentials are not handed on: services default to the local S3Proxy's in development, and
    // S3_ACCESS_KEY_ID / S3_SECRET_ACCESS_KEY set for an external store reach them from the environment.
  };
}
