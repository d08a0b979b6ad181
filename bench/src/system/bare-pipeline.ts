/**
 * Starts the bare pipeline (bench/src/baseline/bare-pipeline-*.ts), the `direct` benchmark's floor:
 * a Kafka topic of the run's own with the product topic's partition count and configs, the bench's
 * own Cassandra table in the product's keyspace (same cluster, so the same commit log), one
 * consumer and one ingress/delivery server per gateway shard. Stopping the group deletes the topic
 * and its consumer group; the table is kept (rows of later runs never collide: every run numbers
 * new conversations).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createCassandra, createKafka, createTopicsWithLeaders } from '@chat/server/clients';
import { loadConfigVars } from '@chat/server/config';
import { kafkaTopics, TOPIC_CONFIG_VARS, toTopicConfigs, topicSettingsFromConfig } from '@chat/server/kafka-topics';
import { createLogger } from '@chat/server/logger';
import type { BareKafkaClient } from '../baseline/bare-kafka.js';
import type { BareRoutes } from '../baseline/bare-pipeline-wire.js';
import { ProcessGroup } from './processes.js';

export const BARE_TABLE = 'bench_bare_messages';

export interface BarePipelineOptions {
  runId: string;
  repoRoot: string;
  logDir: string;
  /** Ingress/delivery servers (as many as the product's gateway shards); ports from basePort + 1. */
  servers: number;
  /** The consumer's ready port; the servers use the next `servers` ports. */
  basePort: number;
  redisPrefix: string;
  logLevel: string;
  routes: BareRoutes;
  /** The Kafka client of the servers and the consumer (baseline/bare-kafka.ts). */
  kafkaClient: BareKafkaClient;
}

export interface RunningBarePipeline {
  procs: ProcessGroup;
  /** WebSocket URL of server i (users on gateway shard i connect to server i). */
  urls: string[];
}

/** The run's topic and group name for one pipeline (one per Kafka client, so each starts empty). */
function nameOf(runId: string, kafkaClient: BareKafkaClient): string {
  return `bench.${runId}.bare.${kafkaClient}`;
}

async function createTopic(name: string): Promise<void> {
  const env = { ...process.env, KAFKA_TOPIC_MESSAGES: name };
  const admin = createKafka(loadConfigVars(['KAFKA_BROKERS'], env).KAFKA_BROKERS, 'bench-admin', createLogger('bench', 'error')).admin();
  await admin.connect();
  try {
    // The product messages topic's spec (partitions, replication, min.insync.replicas), under the run's own name.
    const [messages] = kafkaTopics(topicSettingsFromConfig(loadConfigVars(TOPIC_CONFIG_VARS, env)));
    await createTopicsWithLeaders(admin, toTopicConfigs([messages!]));
  } finally {
    await admin.disconnect();
  }
}

async function deleteTopic(name: string, groupId: string): Promise<void> {
  const admin = createKafka(loadConfigVars(['KAFKA_BROKERS']).KAFKA_BROKERS, 'bench-admin', createLogger('bench', 'error')).admin();
  await admin.connect();
  try {
    await admin.deleteTopics({ topics: [name], timeout: 5000 });
    await admin.deleteGroups([groupId]);
  } finally {
    await admin.disconnect();
  }
}

async function createTable(): Promise<void> {
  const c = loadConfigVars(['CASSANDRA_CONTACT_POINTS', 'CASSANDRA_LOCAL_DC', 'CASSANDRA_KEYSPACE']);
  const client = createCassandra(
    { contactPoints: c.CASSANDRA_CONTACT_POINTS, localDataCenter: c.CASSANDRA_LOCAL_DC, keyspace: c.CASSANDRA_KEYSPACE },
    createLogger('bench', 'error'),
  );
  try {
    await client.execute(
      `CREATE TABLE IF NOT EXISTS ${BARE_TABLE} (conversation_id text, seq bigint, message_id text, sender_id text, client_msg_id text, body text, created_at timestamp, PRIMARY KEY ((conversation_id), seq))`,
    );
  } finally {
    await client.shutdown();
  }
}

export async function startBarePipeline(o: BarePipelineOptions): Promise<RunningBarePipeline> {
  const procs = new ProcessGroup(o.logDir, o.repoRoot);
  const topic = nameOf(o.runId, o.kafkaClient);
  const groupId = topic;
  try {
    await Promise.all([createTopic(topic), createTable()]);
    procs.onStop(() => deleteTopic(topic, groupId));
    const routesFile = join(o.logDir, 'bare-routes.json');
    writeFileSync(routesFile, JSON.stringify(o.routes));
    const shared = { LOG_LEVEL: o.logLevel, REDIS_KEY_PREFIX: o.redisPrefix, BARE_TOPIC: topic, BARE_KAFKA_CLIENT: o.kafkaClient };
    procs.start('bare-consumer', 'bench/dist/baseline/bare-pipeline-consumer.js', {
      ...shared,
      BARE_GROUP_ID: groupId,
      BARE_TABLE,
      BARE_ROUTES_FILE: routesFile,
      BARE_READY_PORT: String(o.basePort),
    });
    const ports = Array.from({ length: o.servers }, (_, i) => o.basePort + 1 + i);
    ports.forEach((port, i) =>
      procs.start(`bare-${i + 1}`, 'bench/dist/baseline/bare-pipeline-server.js', { ...shared, BARE_PORT: String(port), BARE_SERVER_INDEX: String(i) }),
    );
    for (const [i, port] of ports.entries()) await procs.waitForPort(`bare-${i + 1}`, port);
    await procs.waitForPort('bare-consumer', o.basePort, 90_000);
    return { procs, urls: ports.map((p) => `ws://127.0.0.1:${p}/ws`) };
  } catch (err) {
    await procs.stop();
    throw err;
  }
}
