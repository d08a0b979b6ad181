import type { Kafka } from '@chat/server/clients';
import { waitFor } from './wait.js';

export interface ConsumerLag {
  /** Records of the topic not yet committed by the group, summed over partitions. */
  total: number;
  byPartition: { partition: number; high: number; committed: number; lag: number }[];
}

/**
 * The consumer group's lag on `topic`: high watermark minus committed offset per partition (a
 * partition the group never committed counts from its low watermark).
 */
export async function consumerLag(kafka: Kafka, groupId: string, topic: string): Promise<ConsumerLag> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const ends = await admin.fetchTopicOffsets(topic);
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
    const byCommitted = new Map((committed?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
    const byPartition = ends.map((e) => {
      const high = Number(e.high);
      const c = byCommitted.get(e.partition) ?? -1;
      const from = c >= 0 ? c : Number(e.low);
      return { partition: e.partition, high, committed: c, lag: Math.max(0, high - from) };
    });
    return { total: byPartition.reduce((n, p) => n + p.lag, 0), byPartition };
  } finally {
    await admin.disconnect();
  }
}

/**
 * Waits until the group has committed every record of `topic` (lag zero), e.g. the sequencer's group
 * on the messages topic after a fault healed. Admin errors while Kafka recovers count as "not yet".
 */
export async function waitForZeroLag(kafka: Kafka, groupId: string, topic: string, timeoutMs = 60_000): Promise<void> {
  let last: ConsumerLag | undefined;
  await waitFor(
    async () => {
      last = await consumerLag(kafka, groupId, topic).catch(() => undefined);
      return last?.total === 0;
    },
    timeoutMs,
    `consumer group ${groupId} lag on ${topic} to reach zero (last: ${JSON.stringify(last?.byPartition ?? 'unknown')})`,
  ).catch((err: Error) => {
    throw new Error(`${err.message}; last lag ${JSON.stringify(last?.byPartition ?? 'unknown')}`);
  });
}
