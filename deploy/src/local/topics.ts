import { kafkaTopics, type TopicSpec } from '@chat/shared/kafka-topics';
import { Kafka, logLevel } from 'kafkajs';
import { kafkaClient } from './readiness.js';

export interface TopicResult {
  created: string[];
  existing: string[];
}

/** Create the declared topics that do not exist yet and wait for their leaders. Idempotent. */
export async function ensureTopics(
  brokers: string[],
  replicationFactor = 1,
  topics: TopicSpec[] = kafkaTopics(process.env.KAFKA_TOPIC_MESSAGES || 'chat.messages'),
): Promise<TopicResult> {
  const admin = kafkaClient(brokers).admin();
  await admin.connect();
  try {
    const present = new Set(await admin.listTopics());
    const missing = topics.filter((t) => !present.has(t.name));
    if (missing.length > 0) {
      await admin.createTopics({
        waitForLeaders: true,
        timeout: 30_000,
        topics: missing.map((t) => ({
          topic: t.name,
          numPartitions: t.partitions,
          replicationFactor,
          configEntries: Object.entries(t.config ?? {}).map(([name, value]) => ({ name, value })),
        })),
      });
    }
    // Every declared topic must have a leader for every partition before we call Kafka ready.
    const meta = await admin.fetchTopicMetadata({ topics: topics.map((t) => t.name) });
    for (const t of meta.topics) {
      const leaderless = t.partitions.filter((p) => p.leader < 0);
      if (leaderless.length > 0) throw new Error(`topic ${t.name}: ${leaderless.length} partition(s) without leader`);
      const declared = topics.find((d) => d.name === t.name);
      if (declared && t.partitions.length < declared.partitions) {
        throw new Error(`topic ${t.name} has ${t.partitions.length} partitions, declared ${declared.partitions} (increase it by hand; partition counts only grow)`);
      }
    }
    return { created: missing.map((t) => t.name), existing: topics.filter((t) => present.has(t.name)).map((t) => t.name) };
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/**
 * Make the broker create and load its internal state before the first real client needs it:
 * a group coordinator lookup creates __consumer_offsets, an idempotent producer obtains a producer
 * id. Without this, the first consumer/producer of a fresh broker sees "coordinator is loading".
 */
export async function warmUpCoordinators(brokers: string[]): Promise<void> {
  // Idempotent producers refuse a client without retries; keep them short.
  const kafka = new Kafka({ clientId: 'chat-infra-warmup', brokers, logLevel: logLevel.NOTHING, connectionTimeout: 3000, retry: { retries: 3, initialRetryTime: 200, maxRetryTime: 1000 } });
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.describeCluster(); // loads the broker pool; describeGroups needs it
    // Throws (the caller retries) while the group coordinator is not available or loading.
    await admin.describeGroups(['chat-infra-warmup']);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  try {
    await producer.connect();
  } finally {
    await producer.disconnect().catch(() => undefined);
  }
}
