import { kafkaTopics } from '@chat/server/kafka-topics';
import { describe, expect, it } from 'vitest';
import { topicProblems } from './topics.js';

const [messages, dlq] = kafkaTopics({ messagesTopic: 'm', partitions: 12, replicationFactor: 3, minInsyncReplicas: 2 });
const good = { 'min.insync.replicas': '2', 'unclean.leader.election.enable': 'false' };
const replicas = (n: number, rf = 3) => Array.from({ length: n }, () => rf);

describe('topicProblems', () => {
  it('accepts a topic that matches its declaration', () => {
    expect(topicProblems(messages!, { name: 'm', replicasPerPartition: replicas(12), configs: good })).toEqual([]);
  });

  it('item 13: a keyed topic must keep exactly its partition count; other topics may have more', () => {
    expect(topicProblems(messages!, { name: 'm', replicasPerPartition: replicas(16), configs: good })).toEqual([
      expect.stringMatching(/has 16 partitions, configured 12/),
    ]);
    expect(topicProblems(messages!, { name: 'm', replicasPerPartition: replicas(8), configs: good })).toHaveLength(1);
    expect(topicProblems(dlq!, { name: 'm.dlq', replicasPerPartition: replicas(3), configs: good })).toEqual([]);
    expect(topicProblems(dlq!, { name: 'm.dlq', replicasPerPartition: [], configs: good })).toHaveLength(1);
  });

  it('item 13: names each durability difference', () => {
    const problems = topicProblems(messages!, {
      name: 'm',
      replicasPerPartition: [3, 3, 1, ...replicas(9)],
      configs: { 'min.insync.replicas': '1', 'unclean.leader.election.enable': 'true' },
    });
    expect(problems).toEqual([
      expect.stringMatching(/1 partition\(s\) have a replication factor other than the configured 3/),
      expect.stringMatching(/min\.insync\.replicas=1, configured 2/),
      expect.stringMatching(/unclean\.leader\.election\.enable=true, configured false/),
    ]);
  });
});
