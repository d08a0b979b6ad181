import { randomBytes } from 'node:crypto';
import { createTopicsWithLeaders } from '@chat/server/clients';
import { kafkaTopics, type TopicSpec } from '@chat/server/kafka-topics';
import kafkajs, { type Admin } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kafkaClient } from '../src/local/readiness.js';
import { ensureTopics, TopicMismatchError } from '../src/local/topics.js';

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:19092').split(',');
const run = randomBytes(4).toString('hex');
const created: string[] = [];
let admin: Admin;

/** The messages topic, the sequenced stream and their DLQs as the tooling declares them on the local single-node broker. */
/** Every topic the tooling declares for messages topic `name`, in declaration order. */
const family = (name: string) => [name, `${name}.dlq`, `${name}.sequenced`, `${name}.sequenced.dlq`];

function declared(name: string, partitions: number, replicationFactor = 1): TopicSpec[] {
  return kafkaTopics({ messagesTopic: name, partitions, replicationFactor, minInsyncReplicas: 1 });
}

async function createRaw(name: string, partitions: number, configs: Record<string, string> = {}): Promise<void> {
  created.push(name);
  await createTopicsWithLeaders(admin, [
    { topic: name, numPartitions: partitions, configEntries: Object.entries(configs).map(([n, value]) => ({ name: n, value })) },
  ]);
}

async function partitionCount(name: string): Promise<number> {
  const meta = await admin.fetchTopicMetadata({ topics: [name] });
  return meta.topics[0]!.partitions.length;
}

describe('topic tooling (real Kafka)', () => {
  beforeAll(async () => {
    admin = kafkaClient(brokers).admin();
    await admin.connect();
  });
  afterAll(async () => {
    await admin.deleteTopics({ topics: created, timeout: 10_000 }).catch(() => undefined);
    await admin.disconnect();
  });

  it('item 13: creates the topics with the configured min.insync.replicas and unclean leader election off, and accepts them on a second run', async () => {
    const name = `t13-new-${run}`;
    created.push(...family(name));
    const first = await ensureTopics(brokers, declared(name, 3));
    expect(first.created).toEqual(family(name));
    const configs = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: kafkajs.ConfigResourceTypes.TOPIC, name, configNames: ['min.insync.replicas', 'unclean.leader.election.enable'] }],
    });
    const byName = Object.fromEntries(configs.resources[0]!.configEntries.map((e) => [e.configName, e.configValue]));
    expect(byName).toEqual({ 'min.insync.replicas': '1', 'unclean.leader.election.enable': 'false' });
    expect(await partitionCount(name)).toBe(3);
    const second = await ensureTopics(brokers, declared(name, 3));
    expect(second).toEqual({ created: [], existing: family(name) });
  });

  it('item 13: refuses a messages topic with more or fewer partitions than configured and never adds partitions', async () => {
    const more = `t13-more-${run}`;
    const fewer = `t13-fewer-${run}`;
    await createRaw(more, 6);
    await createRaw(fewer, 2);
    created.push(...family(more).slice(1), ...family(fewer).slice(1));
    await expect(ensureTopics(brokers, declared(more, 4))).rejects.toThrow(new RegExp(`topic ${more.replace(/\./g, '\\.')} has 6 partitions, configured 4`));
    await expect(ensureTopics(brokers, declared(fewer, 4))).rejects.toBeInstanceOf(TopicMismatchError);
    expect(await partitionCount(more)).toBe(6);
    expect(await partitionCount(fewer)).toBe(2);
  });

  it('item 13: refuses an existing topic whose replication factor or durability configs differ from the configuration', async () => {
    const unclean = `t13-unclean-${run}`;
    await createRaw(unclean, 2, { 'unclean.leader.election.enable': 'true', 'min.insync.replicas': '1' });
    created.push(...family(unclean).slice(1));
    const err = await ensureTopics(brokers, declared(unclean, 2)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TopicMismatchError);
    expect((err as TopicMismatchError).problems).toEqual([expect.stringContaining(`topic ${unclean}: unclean.leader.election.enable=true, configured false`)]);

    const rf = `t13-rf-${run}`;
    await createRaw(rf, 2, { 'min.insync.replicas': '1' });
    // Every topic of the family exists (a missing one would be created first, which RF 3 cannot on one broker).
    await createRaw(`${rf}.dlq`, 1, { 'min.insync.replicas': '1' });
    await createRaw(`${rf}.sequenced`, 2, { 'min.insync.replicas': '1' });
    await createRaw(`${rf}.sequenced.dlq`, 1, { 'min.insync.replicas': '1' });
    await expect(ensureTopics(brokers, kafkaTopics({ messagesTopic: rf, partitions: 2, replicationFactor: 3, minInsyncReplicas: 2 }))).rejects.toThrow(
      /replication factor other than the configured 3[\s\S]*min\.insync\.replicas=1, configured 2/,
    );
  });
});
