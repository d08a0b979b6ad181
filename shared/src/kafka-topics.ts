/** The Kafka topics of the system: the provisioner, tests and benchmarks create exactly these. */
export interface TopicSpec {
  name: string;
  partitions: number;
  config?: Record<string, string>;
}

/** Where records that can never be processed go, next to their source topic. */
export function dlqTopicOf(topic: string): string {
  return `${topic}.dlq`;
}

/** The topics for a messages topic name (KAFKA_TOPIC_MESSAGES). */
export function kafkaTopics(messagesTopic: string, partitions = 12): TopicSpec[] {
  return [
    { name: messagesTopic, partitions, config: { 'min.insync.replicas': '1' } },
    { name: dlqTopicOf(messagesTopic), partitions: 1 },
  ];
}
