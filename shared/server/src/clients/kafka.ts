import { Kafka, logLevel, type Admin, type ITopicConfig, type LogEntry, type Producer, type logCreator } from 'kafkajs';
import type { Logger } from '../logger.js';
import { keyHashPartitioner } from './kafka-partitioner.js';

export type { Kafka, Producer };

const LEVELS: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/** Routes kafkajs logs into pino, namespaced by kafkajs component. */
function pinoLogCreator(log: Logger): logCreator {
  return () =>
    ({ namespace, level, log: entry }: LogEntry) => {
      const { message, ...extra } = entry;
      log[LEVELS[level] ?? 'info']({ kafka: namespace, ...extra }, message);
    };
}

/**
 * A new, unconnected idempotent producer (acks=all needs it; one request in flight keeps order).
 * Keyed records go where kafkajs' DefaultPartitioner puts them, hashed without its garbage.
 */
export function createIdempotentProducer(kafka: Kafka): Producer {
  return kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: keyHashPartitioner });
}

export function createKafka(brokers: string[], clientId: string, log: Logger): Kafka {
  return new Kafka({
    clientId,
    brokers,
    logLevel: logLevel.WARN,
    logCreator: pinoLogCreator(log.child({ component: 'kafkajs' })),
    retry: { initialRetryTime: 100, retries: 8 },
  });
}

/**
 * Creates topics (those that exist already are left alone) and waits until every partition has a
 * leader. kafkajs' own `waitForLeaders` gives up when a fresh topic's metadata briefly answers
 * "unknown topic or partition", so readiness is polled here instead, within `timeoutMs`.
 */
export async function createTopicsWithLeaders(admin: Admin, topics: ITopicConfig[], timeoutMs = 30_000): Promise<void> {
  await admin.createTopics({ waitForLeaders: false, timeout: timeoutMs, topics });
  const names = topics.map((t) => t.topic);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const meta = await admin.fetchTopicMetadata({ topics: names });
      if (meta.topics.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0))) return;
    } catch (err) {
      if (Date.now() >= deadline) throw err;
    }
    if (Date.now() >= deadline) throw new Error(`topics ${names.join(', ')} have no leader after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
