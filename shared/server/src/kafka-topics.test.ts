import { describe, expect, it } from 'vitest';
import { loadConfigVars } from './config/index.js';
import { kafkaTopics, TOPIC_CONFIG_VARS, topicSettingsFromConfig } from './kafka-topics.js';

const settings = (env: NodeJS.ProcessEnv) => topicSettingsFromConfig(loadConfigVars(TOPIC_CONFIG_VARS, env));

describe('kafkaTopics', () => {
  it('item 13: production defaults are replication factor 3, min.insync.replicas 2, unclean leader election off', () => {
    const [messages, dlq] = kafkaTopics(settings({ NODE_ENV: 'production' }));
    expect(messages).toEqual({
      name: 'chat.messages',
      partitions: 12,
      replicationFactor: 3,
      fixedPartitions: true,
      config: { 'min.insync.replicas': '2', 'unclean.leader.election.enable': 'false' },
    });
    expect(dlq).toMatchObject({ name: 'chat.messages.dlq', replicationFactor: 3, fixedPartitions: false, config: messages!.config });
  });

  it('item 13: outside production the local single-node broker gets 1 and 1; explicit values win', () => {
    expect(settings({ NODE_ENV: 'test' })).toMatchObject({ replicationFactor: 1, minInsyncReplicas: 1 });
    expect(settings({})).toMatchObject({ replicationFactor: 1, minInsyncReplicas: 1 });
    expect(settings({ NODE_ENV: 'production', KAFKA_REPLICATION_FACTOR: '5', KAFKA_MIN_INSYNC_REPLICAS: '3', KAFKA_MESSAGES_PARTITIONS: '48' })).toMatchObject({
      partitions: 48,
      replicationFactor: 5,
      minInsyncReplicas: 3,
    });
  });

  it('declares the sequenced stream beside the messages topic: same partitions, keyed, with its own dead-letter topic', () => {
    const [messages, , sequenced, sequencedDlq] = kafkaTopics(settings({ NODE_ENV: 'production' }));
    expect(sequenced).toEqual({ ...messages, name: 'chat.messages.sequenced' });
    expect(sequencedDlq).toMatchObject({ name: 'chat.messages.sequenced.dlq', partitions: 1, fixedPartitions: false });
    expect(kafkaTopics(settings({ KAFKA_TOPIC_MESSAGES: 'm' }))[2]!.name).toBe('m.sequenced');
    expect(kafkaTopics(settings({ KAFKA_TOPIC_MESSAGES: 'm', KAFKA_TOPIC_SEQUENCED: 's' }))[2]!.name).toBe('s');
  });

  it('item 13: refuses a min.insync.replicas above the replication factor', () => {
    expect(() => kafkaTopics({ messagesTopic: 't', partitions: 1, replicationFactor: 1, minInsyncReplicas: 2 })).toThrow(
      /KAFKA_MIN_INSYNC_REPLICAS \(2\) exceeds KAFKA_REPLICATION_FACTOR \(1\)/,
    );
  });
});
