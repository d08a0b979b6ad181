import { createIdempotentProducer, createTopicsWithLeaders } from '@chat/server/clients';
import { toTopicConfigs, type TopicSpec } from '@chat/server/kafka-topics';
import kafkajs, { Kafka, logLevel } from 'kafkajs';
import { kafkaClient, NotRetriableError } from './readiness.js';

export interface TopicResult {
  created: string[];
  existing: string[];
}

/** An existing topic differs from its declaration in a way the tooling must not "fix" by itself. */
export class TopicMismatchError extends NotRetriableError {
  constructor(readonly problems: string[]) {
    super(
      `Kafka topics differ from their declaration (shared/server/src/kafka-topics.ts, KAFKA_* variables); refusing to continue:\n  ${problems.join('\n  ')}`,
    );
    this.name = 'TopicMismatchError';
  }
}

/** What the tooling reads back from an existing topic. */
export interface ActualTopic {
  name: string;
  /** Replica count of each partition. */
  replicasPerPartition: number[];
  configs: Record<string, string>;
}

/**
 * The differences between a declared and an existing topic, one message each (empty: they agree).
 * Partitions are never added: on a keyed topic that would move conversations to other partitions
 * (and so reorder them and hand them to another sequencer).
 */
export function topicProblems(declared: TopicSpec, actual: ActualTopic): string[] {
  const problems: string[] = [];
  const partitions = actual.replicasPerPartition.length;
  if (declared.fixedPartitions ? partitions !== declared.partitions : partitions < declared.partitions) {
    problems.push(
      `topic ${declared.name} has ${partitions} partitions, configured ${declared.partitions}: ` +
        (declared.fixedPartitions
          ? 'the count of a keyed topic is fixed (adding partitions moves conversations); set KAFKA_MESSAGES_PARTITIONS to the existing count, or migrate to a new topic'
          : 'partitions are never added by this tool'),
    );
  }
  const under = actual.replicasPerPartition.filter((r) => r !== declared.replicationFactor).length;
  if (under > 0) {
    problems.push(
      `topic ${declared.name}: ${under} partition(s) have a replication factor other than the configured ${declared.replicationFactor} ` +
        `(seen: ${[...new Set(actual.replicasPerPartition)].join(', ')}); reassign replicas (kafka-reassign-partitions) or fix KAFKA_REPLICATION_FACTOR`,
    );
  }
  for (const [key, want] of Object.entries(declared.config)) {
    const have = actual.configs[key];
    if (have !== want) {
      problems.push(
        `topic ${declared.name}: ${key}=${have ?? '(unset)'}, configured ${want}; change it with kafka-configs --alter --entity-type topics --entity-name ${declared.name} --add-config ${key}=${want}`,
      );
    }
  }
  return problems;
}

/**
 * Create the declared topics that do not exist yet, verify the ones that do (partition count,
 * replication factor, declared configs) and wait for leaders. Idempotent. Never adds partitions
 * and never alters an existing topic: a difference is a TopicMismatchError naming each problem.
 */
export async function ensureTopics(brokers: string[], topics: TopicSpec[]): Promise<TopicResult> {
  const admin = kafkaClient(brokers).admin();
  await admin.connect();
  try {
    const present = new Set(await admin.listTopics());
    const missing = topics.filter((t) => !present.has(t.name));
    if (missing.length > 0) await createTopicsWithLeaders(admin, toTopicConfigs(missing));
    const meta = await admin.fetchTopicMetadata({ topics: topics.map((t) => t.name) });
    const described = await admin.describeConfigs({
      includeSynonyms: false,
      resources: topics.map((t) => ({ type: kafkajs.ConfigResourceTypes.TOPIC, name: t.name, configNames: Object.keys(t.config) })),
    });
    const problems: string[] = [];
    for (const declared of topics) {
      const m = meta.topics.find((t) => t.name === declared.name);
      if (!m) throw new Error(`topic ${declared.name}: no metadata`);
      const leaderless = m.partitions.filter((p) => p.leader < 0);
      if (leaderless.length > 0) throw new Error(`topic ${declared.name}: ${leaderless.length} partition(s) without leader`);
      const entries = described.resources.find((r) => r.resourceName === declared.name)?.configEntries ?? [];
      problems.push(
        ...topicProblems(declared, {
          name: declared.name,
          replicasPerPartition: m.partitions.map((p) => p.replicas.length),
          configs: Object.fromEntries(entries.map((e) => [e.configName, e.configValue])),
        }),
      );
    }
    if (problems.length > 0) throw new TopicMismatchError(problems);
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
  const kafka = new Kafka({
    clientId: 'chat-infra-warmup',
    brokers,
    logLevel: logLevel.NOTHING,
    connectionTimeout: 3000,
    retry: { retries: 3, initialRetryTime: 200, maxRetryTime: 1000 },
  });
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.describeCluster(); // loads the broker pool; describeGroups needs it
    // Throws (the caller retries) while the group coordinator is not available or loading.
    await admin.describeGroups(['chat-infra-warmup']);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
  const producer = createIdempotentProducer(kafka);
  try {
    await producer.connect();
  } finally {
    await producer.disconnect().catch(() => undefined);
  }
}
