/**
 * Bare pipeline: the Kafka client it runs on, chosen by name, so the floor can be measured with
 * kafkajs (the product's client) and with @confluentinc/kafka-javascript (librdkafka, through its
 * KafkaJS-compatible API) in the same run. Both get the product's producer settings (idempotent,
 * acks=all, one request in flight, no linger) and the sequencer's consumer settings (50 ms fetch
 * wait, 16 partitions handled concurrently, whole fetched batches).
 * The librdkafka client is an optional dependency of the bench: it is loaded only when asked for.
 */
import { createKafka, createIdempotentProducer } from '@chat/server/clients';
import type { Logger } from '@chat/server/logger';

export const BARE_KAFKA_CLIENTS = ['kafkajs', 'confluent'] as const;
export type BareKafkaClient = (typeof BARE_KAFKA_CLIENTS)[number];

/** BARE_KAFKA_CLIENT of the environment; kafkajs when unset. */
export function bareKafkaClientFromEnv(): BareKafkaClient {
  const name = process.env.BARE_KAFKA_CLIENT || 'kafkajs';
  if (!(BARE_KAFKA_CLIENTS as readonly string[]).includes(name)) throw new Error(`BARE_KAFKA_CLIENT must be one of ${BARE_KAFKA_CLIENTS.join(', ')}`);
  return name as BareKafkaClient;
}

/** The package each name stands for. */
export const KAFKA_CLIENT_PACKAGE: Record<BareKafkaClient, string> = {
  kafkajs: 'kafkajs',
  confluent: '@confluentinc/kafka-javascript',
};

export interface BareProducerRecord {
  key: string;
  value: string;
}

export interface BareProducer {
  /** Resolves once Kafka acked every record (acks=all). */
  send(topic: string, records: BareProducerRecord[]): Promise<void>;
  disconnect(): Promise<void>;
}

export interface BareFetchedBatch {
  topic: string;
  partition: number;
  messages: { offset: string; value: Buffer | null }[];
}

export interface BareConsumerOptions {
  topic: string;
  groupId: string;
  /** Called once the consumer holds partitions. */
  onAssigned(): void;
  /** Handles a batch; once it resolves, the batch's offsets are committed. A rejection redelivers it. */
  handle(batch: BareFetchedBatch): Promise<void>;
}

export interface BareConsumer {
  disconnect(): Promise<void>;
}

const GROUP = { sessionTimeout: 30_000, heartbeatInterval: 3000, maxWaitTimeInMs: 50 };
const PARTITIONS_CONCURRENTLY = 16;

export async function connectBareProducer(client: BareKafkaClient, brokers: string[], clientId: string, log: Logger): Promise<BareProducer> {
  if (client === 'confluent') {
    const producer = (await confluentKafka(brokers, clientId)).producer({
      kafkaJS: { idempotent: true, acks: -1, maxInFlightRequests: 1 },
      'linger.ms': 0,
    });
    await producer.connect();
    return { send: async (topic, messages) => void (await producer.send({ topic, messages })), disconnect: () => producer.disconnect() };
  }
  const producer = createIdempotentProducer(createKafka(brokers, clientId, log));
  await producer.connect();
  return { send: async (topic, messages) => void (await producer.send({ topic, acks: -1, messages })), disconnect: () => producer.disconnect() };
}

export async function runBareConsumer(client: BareKafkaClient, brokers: string[], o: BareConsumerOptions, log: Logger): Promise<BareConsumer> {
  if (client === 'confluent') return runConfluentConsumer(brokers, o);
  const consumer = createKafka(brokers, 'bare-pipeline-consumer', log).consumer({ groupId: o.groupId, ...GROUP });
  await consumer.connect();
  consumer.on(consumer.events.GROUP_JOIN, () => o.onAssigned());
  await consumer.subscribe({ topic: o.topic, fromBeginning: true });
  await consumer.run({
    eachBatchAutoResolve: false,
    autoCommit: true,
    partitionsConsumedConcurrently: PARTITIONS_CONCURRENTLY,
    eachBatch: async ({ batch, resolveOffset, commitOffsetsIfNecessary, heartbeat, isRunning, isStale }) => {
      if (batch.messages.length === 0 || !isRunning() || isStale()) return;
      await o.handle(batch);
      const last = batch.messages.at(-1)!.offset;
      resolveOffset(last);
      await commitOffsetsIfNecessary({
        topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: (BigInt(last) + 1n).toString() }] }],
      });
      await heartbeat();
    },
  });
  return { disconnect: () => consumer.disconnect() };
}

async function runConfluentConsumer(brokers: string[], o: BareConsumerOptions): Promise<BareConsumer> {
  const consumer = (await confluentKafka(brokers, 'bare-pipeline-consumer')).consumer({
    kafkaJS: { groupId: o.groupId, ...GROUP, fromBeginning: true, autoCommit: true },
    // Whole fetched batches, as kafkajs hands them over (the compatible API's default is 32 records).
    'js.consumer.max.batch.size': -1,
  });
  await consumer.connect();
  await consumer.subscribe({ topics: [o.topic] });
  await consumer.run({
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: PARTITIONS_CONCURRENTLY,
    eachBatch: async ({ batch, resolveOffset, commitOffsetsIfNecessary, isRunning, isStale }) => {
      if (batch.messages.length === 0 || !isRunning() || isStale()) return;
      await o.handle(batch);
      resolveOffset(batch.messages.at(-1)!.offset);
      await commitOffsetsIfNecessary();
    },
  });
  // The compatible API has no group-join event: wait for the first assignment instead.
  const assigned = setInterval(() => {
    if (consumer.assignment().length > 0) {
      clearInterval(assigned);
      o.onAssigned();
    }
  }, 100);
  return {
    disconnect: () => {
      clearInterval(assigned);
      return consumer.disconnect();
    },
  };
}

/** The parts of @confluentinc/kafka-javascript's KafkaJS-compatible API used here. */
interface ConfluentKafka {
  producer(config: Record<string, unknown>): {
    connect(): Promise<void>;
    send(record: { topic: string; messages: BareProducerRecord[] }): Promise<unknown>;
    disconnect(): Promise<void>;
  };
  consumer(config: Record<string, unknown>): {
    connect(): Promise<void>;
    subscribe(s: { topics: string[] }): Promise<void>;
    run(config: {
      eachBatchAutoResolve: boolean;
      partitionsConsumedConcurrently: number;
      eachBatch(payload: {
        batch: BareFetchedBatch;
        resolveOffset(offset: string): void;
        commitOffsetsIfNecessary(): Promise<void>;
        isRunning(): boolean;
        isStale(): boolean;
      }): Promise<void>;
    }): Promise<void>;
    assignment(): unknown[];
    disconnect(): Promise<void>;
  };
}

async function confluentKafka(brokers: string[], clientId: string): Promise<ConfluentKafka> {
  const name = KAFKA_CLIENT_PACKAGE.confluent;
  let module: { KafkaJS: { Kafka: new (config: Record<string, unknown>) => ConfluentKafka; logLevel: Record<string, number> } };
  try {
    module = ((await import(name)) as { default: typeof module }).default;
  } catch (err) {
    throw new Error(`${name} is not installed (${(err as Error).message}); it is an optional dependency of the bench: see README.md, "Benchmarks"`);
  }
  const { Kafka, logLevel } = module.KafkaJS;
  return new Kafka({ kafkaJS: { brokers, clientId, logLevel: logLevel.WARN } });
}
