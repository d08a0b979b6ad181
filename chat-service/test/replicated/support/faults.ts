import type { Kafka } from '@chat/server/clients';
import type { ChatClient } from '@chat/sdk';
import { clusterHealthy, currentRedisMaster, killNode, nodeAt, startNode } from '@chat/deploy/local/replicated/cluster';
import { node } from '@chat/deploy/local/replicated/nodes';
import { resolveReplicatedPaths } from '@chat/deploy/local/paths';
import type { History, SendRecord } from '@chat/testing/history-checker';
import { waitFor } from '@chat/testing/wait';

/** Node operations on the running replicated profile (its pid files live under CHAT_REPLICATED_DATA_DIR). */
const paths = resolveReplicatedPaths();
const say = (m: string) => console.log(`[replicated] ${m}`);

/** SIGKILL the node; returns the time of the kill. */
export async function crash(name: string): Promise<number> {
  const pid = await killNode(paths, name);
  const at = Date.now();
  say(`SIGKILL ${name} (pid ${pid})`);
  return at;
}

/** Start a node again (its configuration and data as before) and wait until it answers; returns how long that took. */
export async function restart(name: string): Promise<number> {
  const t = Date.now();
  await startNode(paths, node(name), say);
  return Date.now() - t;
}

/** The whole profile back to full strength (3 brokers, 3 Cassandra nodes up, sentinels agreeing). */
export function healthy(timeoutMs = 180_000): Promise<void> {
  return clusterHealthy(timeoutMs);
}

/** The node name of the Redis master the sentinels currently name. */
export async function redisMasterNode(): Promise<string> {
  return nodeAt(await currentRedisMaster()).name;
}

/** The partition holding the topic's records so far (the test's one conversation) and its leader's node name. */
export async function conversationPartitionLeader(kafka: Kafka, topic: string): Promise<{ partition: number; leader: string }> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    const used = offsets.filter((o) => Number(o.high) > 0);
    if (used.length !== 1) throw new Error(`expected records in exactly one partition of ${topic}, found ${used.length}`);
    const partition = used[0]!.partition;
    const meta = await admin.fetchTopicMetadata({ topics: [topic] });
    const leader = meta.topics[0]?.partitions.find((p) => p.partitionId === partition)?.leader;
    if (leader === undefined || leader < 0) throw new Error(`partition ${partition} of ${topic} has no leader`);
    return { partition, leader: `kafka-${leader}` };
  } finally {
    await admin.disconnect();
  }
}

export interface SendLoop {
  /** Every send record, in start order. */
  readonly records: SendRecord[];
  /** Resolves when every sender has finished its share. */
  readonly done: Promise<void>;
  /** Acked sends so far. */
  acked(): number;
}

/**
 * Each sender sends `perSender` messages one after another (client_msg_id `<sender>-<i>`), recorded
 * in `history`. Bounded by count; each send is bounded by the SDK's ack timeout and attempts.
 */
export function sendLoop(history: History, conv: string, senders: { userId: string; client: ChatClient }[], perSender: number, pauseMs = 0): SendLoop {
  const records: SendRecord[] = [];
  const done = Promise.all(
    senders.map(async ({ userId, client }) => {
      for (let i = 0; i < perSender; i++) {
        const id = `${userId}-${i}`;
        const p = history.send(client, userId, conv, `m ${id}`, id);
        records.push(history.sends[history.sends.length - 1]!);
        await p;
        if (pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs));
      }
    }),
  ).then(() => undefined);
  return { records, done, acked: () => records.filter((r) => r.outcome === 'ok').length };
}

/** Longest time without any acked send between `from` and the last ack (ms). */
export function longestAckGap(records: readonly SendRecord[], from: number): number {
  const acks = records.filter((r) => r.outcome === 'ok' && r.endedAt !== undefined && r.endedAt >= from).map((r) => r.endedAt!);
  acks.sort((a, b) => a - b);
  let gap = acks.length > 0 ? acks[0]! - from : Infinity;
  for (let i = 1; i < acks.length; i++) gap = Math.max(gap, acks[i]! - acks[i - 1]!);
  return gap;
}

/** Time from `from` to the first ack of a send that started after it (ms). */
export function firstAckAfter(records: readonly SendRecord[], from: number): number {
  const t = records.filter((r) => r.outcome === 'ok' && r.startedAt >= from).map((r) => r.endedAt!);
  return t.length > 0 ? Math.min(...t) - from : Infinity;
}

export { waitFor };

export const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
