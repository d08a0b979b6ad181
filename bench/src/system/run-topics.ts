import { createKafka, createTopicsWithLeaders } from '@chat/server/clients';
import { loadConfigVars } from '@chat/server/config';
import { kafkaTopics, TOPIC_CONFIG_VARS, toTopicConfigs, topicSettingsFromConfig } from '@chat/server/kafka-topics';
import { createLogger } from '@chat/server/logger';

/** The Kafka topics of one benchmark run (KAFKA_TOPIC_MESSAGES in `env`), created before chat-service starts. */
function admin(env: Record<string, string>) {
  const brokers = loadConfigVars(['KAFKA_BROKERS'], { ...process.env, ...env }).KAFKA_BROKERS;
  return createKafka(brokers, 'bench-admin', createLogger('bench', 'error')).admin();
}

export async function createTopics(env: Record<string, string>): Promise<void> {
  const a = admin(env);
  await a.connect();
  try {
    await createTopicsWithLeaders(a, toTopicConfigs(kafkaTopics(topicSettingsFromConfig(loadConfigVars(TOPIC_CONFIG_VARS, { ...process.env, ...env })))));
  } finally {
    await a.disconnect();
  }
}

export async function deleteTopics(env: Record<string, string>): Promise<void> {
  const a = admin(env);
  await a.connect();
  try {
    const settings = topicSettingsFromConfig(loadConfigVars(TOPIC_CONFIG_VARS, { ...process.env, ...env }));
    await a.deleteTopics({ topics: kafkaTopics(settings).map((t) => t.name), timeout: 5000 });
    await a.deleteGroups([env.SEQUENCER_GROUP_ID!]);
  } finally {
    await a.disconnect();
  }
}
