import type cassandra from 'cassandra-driver';
import type { Consumer, Producer } from 'kafkajs';
import type { Registry } from 'prom-client';
import { gauge, latency, shared } from './metrics.js';

const hrSeconds = (t: [number, number]): number => t[0] + t[1] / 1e9;
const WRITE = /^\s*(insert|update|delete|begin)\b/i;

/**
 * Observes every Cassandra request of `client` in chat_cassandra_request_seconds{op, outcome}:
 * op "write" for INSERT/UPDATE/DELETE and batches, "read" otherwise. The driver reads its request
 * tracker at each request, so this can be attached to a client that is already connected.
 */
export function instrumentCassandra(client: cassandra.Client, registry: Registry): void {
  const name = 'chat_cassandra_request_seconds';
  const hist = shared(registry, name, () => latency(registry, name, 'Cassandra request latency, by operation (read/write) and outcome.', ['op', 'outcome']));
  const opOf = (query: string | unknown[]): 'read' | 'write' => (Array.isArray(query) || (typeof query === 'string' && WRITE.test(query)) ? 'write' : 'read');
  class Tracker {
    onSuccess(_h: unknown, query: string | unknown[], _p: unknown, _o: unknown, _rq: number, _rs: number, took: [number, number]): void {
      hist.observe({ op: opOf(query), outcome: 'ok' }, hrSeconds(took));
    }
    onError(_h: unknown, query: string | unknown[], _p: unknown, _o: unknown, _rq: number, _e: Error, took: [number, number]): void {
      hist.observe({ op: opOf(query), outcome: 'error' }, hrSeconds(took));
    }
    shutdown(): void {}
  }
  // The typings do not name `options`; the driver reads options.requestTracker per request.
  (client as unknown as { options: { requestTracker: unknown } }).options.requestTracker = new Tracker();
}

/** Observes each Produce request of `producer` (broker round trip, acks=all included) in chat_kafka_produce_seconds{producer}. */
export function instrumentProducer<P extends Producer>(producer: P, registry: Registry, role: string): P {
  const name = 'chat_kafka_produce_seconds';
  const hist = shared(registry, name, () => latency(registry, name, 'Kafka Produce request latency (until the broker acked), by producer role.', ['producer']));
  producer.on(producer.events.REQUEST, (e) => {
    if (e.payload.apiName === 'Produce') hist.observe({ producer: role }, e.payload.duration / 1000);
  });
  return producer;
}

/**
 * Keeps chat_kafka_consumer_lag{group, partition} from the consumer's batches: records behind the
 * high watermark after each batch. Partitions the consumer no longer owns after a rebalance are removed.
 */
export function trackConsumerLag(consumer: Consumer, registry: Registry, group: string): void {
  const name = 'chat_kafka_consumer_lag';
  const lag = shared(registry, name, () =>
    gauge(registry, name, 'Records not yet consumed, per consumer group and partition (at the end of the last batch).', ['group', 'partition']),
  );
  const owned = new Set<string>();
  consumer.on(consumer.events.END_BATCH_PROCESS, (e) => {
    const partition = String(e.payload.partition);
    owned.add(partition);
    // offsetLag counts from the batch's last record (offsetLagLow from its first: never 0 after a batch of several).
    lag.set({ group, partition }, Math.max(0, Number(e.payload.offsetLag)));
  });
  consumer.on(consumer.events.GROUP_JOIN, (e) => {
    const assigned = new Set(Object.values(e.payload.memberAssignment).flat().map(String));
    for (const p of owned) {
      if (!assigned.has(p)) {
        lag.remove({ group, partition: p });
        owned.delete(p);
      }
    }
  });
}
