/** The Kafka topics of the system: the provisioner creates exactly these. */
export interface TopicSpec {
  name: string;
  partitions: number;
  config?: Record<string, string>;
}

export const TOPIC_MESSAGES = 'chat.messages';
export const TOPIC_MESSAGES_DLQ = 'chat.messages.dlq';

export const KAFKA_TOPICS: ReadonlyArray<TopicSpec> = [
  { name: TOPIC_MESSAGES, partitions: 12, config: { 'min.insync.replicas': '1' } },
  { name: TOPIC_MESSAGES_DLQ, partitions: 1 },
];
