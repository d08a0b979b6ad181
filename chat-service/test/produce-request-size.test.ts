import { randomBytes } from 'node:crypto';
import { createIdempotentProducer, createKafka, createTopicsWithLeaders } from '@chat/server/clients';
import { loadConfig } from '@chat/server/config';
import { createLogger } from '@chat/server/logger';
import { afterAll, describe, expect, it } from 'vitest';
import { CircuitBreaker } from '../src/resilience/circuit-breaker.js';
import { BatchingProducer } from '../src/send/batching-producer.js';
import { SequencedPublisher } from '../src/sequencer/sequenced-publisher.js';
import { storedMessages } from '../src/sequencer/test-messages.js';

const log = createLogger('test', 'silent');
const config = loadConfig(process.env);
const kafka = createKafka(config.KAFKA_BROKERS, `request-size-${randomBytes(4).toString('hex')}`, log);
const cleanups: (() => Promise<unknown>)[] = [];

afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

/** A one-partition topic with the broker's default max.message.bytes (1,048,588). */
async function onePartitionTopic(): Promise<string> {
  const topic = `request-size-${randomBytes(4).toString('hex')}`;
  const admin = kafka.admin();
  await admin.connect();
  try {
    await createTopicsWithLeaders(admin, [{ topic, numPartitions: 1 }]);
  } finally {
    await admin.disconnect();
  }
  cleanups.push(async () => {
    const a = kafka.admin();
    await a.connect();
    await a.deleteTopics({ topics: [topic] }).finally(() => a.disconnect());
  });
  return topic;
}

async function startedProducer(): Promise<BatchingProducer> {
  const producer = new BatchingProducer(() => createIdempotentProducer(kafka), new CircuitBreaker('kafka', { failureThreshold: 100 }), log);
  cleanups.push(() => producer.close());
  await producer.start();
  return producer;
}

const body = 'x'.repeat(16 * 1024);

describe('produce requests stay under the topic record batch limit', () => {
  it('item 14: 300 concurrent sends of 16 KiB bodies into one partition (4.8 MB queued) are all acked', async () => {
    const topic = await onePartitionTopic();
    const producer = await startedProducer();
    // One small write first, so the 300 below queue up behind it and leave together.
    const first = producer.send(topic, { key: 'k', value: 'first' }, Date.now() + 30_000);
    const sends = Array.from({ length: 300 }, (_, i) => producer.send(topic, { key: 'k', value: `${i}:${body}` }, Date.now() + 30_000));
    const outcomes = await Promise.allSettled([first, ...sends]);
    const refused = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected').map((o) => String(o.reason));
    expect(refused).toEqual([]);
  });

  it('item 14: a sequencer chunk of 100 messages of 16 KiB (1.6 MB) is published to one partition', async () => {
    const topic = await onePartitionTopic();
    const publisher = new SequencedPublisher(await startedProducer(), topic);
    await expect(publisher.publish(storedMessages(100, body))).resolves.toBeUndefined();
  });
});
