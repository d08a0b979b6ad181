import type { ITopicConfig } from 'kafkajs';
import type { Config } from './config/index.js';

/** The Kafka topics of the system: the provisioner, tests and benchmarks create exactly these. */
export interface TopicSpec {
  name: string;
  partitions: number;
  replicationFactor: number;
  /**
   * The partition count must stay exactly `partitions`: records are keyed by conversation and a
   * key's partition must never move (per-conversation order, sequencer ownership). Other topics
   * may have more partitions than declared.
   */
  fixedPartitions: boolean;
  /** Topic-level configs the tooling sets on creation and verifies on existing topics. */
  config: Record<string, string>;
}

/** Durability and layout of the topics, from KAFKA_* variables (see topicSettingsFromConfig). */
export interface TopicSettings {
  messagesTopic: string;
  /** @default sequencedTopicOf(messagesTopic) (KAFKA_TOPIC_SEQUENCED) */
  sequencedTopic?: string;
  /** @default 12 (KAFKA_MESSAGES_PARTITIONS) */
  partitions: number;
  /** @default 3 in production, 1 otherwise (KAFKA_REPLICATION_FACTOR) */
  replicationFactor: number;
  /** @default 2 in production, 1 otherwise (KAFKA_MIN_INSYNC_REPLICAS) */
  minInsyncReplicas: number;
}

/** The config variables topicSettingsFromConfig reads (load them with loadConfigVars in tools). */
export const TOPIC_CONFIG_VARS = [
  'KAFKA_TOPIC_MESSAGES',
  'KAFKA_TOPIC_SEQUENCED',
  'KAFKA_MESSAGES_PARTITIONS',
  'KAFKA_REPLICATION_FACTOR',
  'KAFKA_MIN_INSYNC_REPLICAS',
] as const;

export function topicSettingsFromConfig(c: Pick<Config, (typeof TOPIC_CONFIG_VARS)[number]>): TopicSettings {
  return {
    messagesTopic: c.KAFKA_TOPIC_MESSAGES,
    sequencedTopic: sequencedTopicFromConfig(c),
    partitions: c.KAFKA_MESSAGES_PARTITIONS,
    replicationFactor: c.KAFKA_REPLICATION_FACTOR,
    minInsyncReplicas: c.KAFKA_MIN_INSYNC_REPLICAS,
  };
}

/** The sequenced stream that belongs to a messages topic when KAFKA_TOPIC_SEQUENCED is empty. */
export function sequencedTopicOf(messagesTopic: string): string {
  return `${messagesTopic}.sequenced`;
}

/** The sequenced stream's name: KAFKA_TOPIC_SEQUENCED, or derived from the messages topic. */
export function sequencedTopicFromConfig(c: Pick<Config, 'KAFKA_TOPIC_MESSAGES' | 'KAFKA_TOPIC_SEQUENCED'>): string {
  return c.KAFKA_TOPIC_SEQUENCED === '' ? sequencedTopicOf(c.KAFKA_TOPIC_MESSAGES) : c.KAFKA_TOPIC_SEQUENCED;
}

/** Where records that can never be processed go, next to their source topic. */
export function dlqTopicOf(topic: string): string {
  return `${topic}.dlq`;
}

/**
 * The topics for one messages topic: the messages, the sequenced stream (same partition count,
 * also keyed by conversation, so a conversation's sequenced records stay in order) and a
 * dead-letter topic beside each. All are written with acks=all, so min.insync.replicas
 * decides how many copies an acked record has; an out-of-sync replica may never become leader
 * (unclean leader election off), since that would drop acked records.
 */
export function kafkaTopics(s: TopicSettings): TopicSpec[] {
  if (s.minInsyncReplicas > s.replicationFactor) {
    throw new Error(
      `KAFKA_MIN_INSYNC_REPLICAS (${s.minInsyncReplicas}) exceeds KAFKA_REPLICATION_FACTOR (${s.replicationFactor}): no acks=all write could ever succeed`,
    );
  }
  const sequenced = s.sequencedTopic ?? sequencedTopicOf(s.messagesTopic);
  const config = { 'min.insync.replicas': String(s.minInsyncReplicas), 'unclean.leader.election.enable': 'false' };
  return [
    { name: s.messagesTopic, partitions: s.partitions, replicationFactor: s.replicationFactor, fixedPartitions: true, config },
    { name: dlqTopicOf(s.messagesTopic), partitions: 1, replicationFactor: s.replicationFactor, fixedPartitions: false, config },
    { name: sequenced, partitions: s.partitions, replicationFactor: s.replicationFactor, fixedPartitions: true, config },
    { name: dlqTopicOf(sequenced), partitions: 1, replicationFactor: s.replicationFactor, fixedPartitions: false, config },
  ];
}

/** The kafkajs createTopics entries for `topics` (partitions, replication factor, configs). */
export function toTopicConfigs(topics: TopicSpec[]): ITopicConfig[] {
  return topics.map((t) => ({
    topic: t.name,
    numPartitions: t.partitions,
    replicationFactor: t.replicationFactor,
    configEntries: Object.entries(t.config).map(([name, value]) => ({ name, value })),
  }));
}
