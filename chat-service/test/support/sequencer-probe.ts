import cassandra from 'cassandra-driver';
import { INTERNAL_PATHS, INTERNAL_TOKEN_HEADER, type InternalSendBatchResponse, type InternalSendRequest } from '@chat/protocol/internal';
import type { TestSystem } from './system.js';

const BUCKET_SIZE = 1024;
const long = (v: string | number) => cassandra.types.Long.fromString(String(v));

/** Sends through chat-service's internal API (what gateways call), 256 per request. */
export async function internalSend(sys: TestSystem, requests: InternalSendRequest[]): Promise<InternalSendBatchResponse['results']> {
  const results: InternalSendBatchResponse['results'] = [];
  for (let i = 0; i < requests.length; i += 256) {
    const res = await fetch(`${sys.chatInternalUrl}${INTERNAL_PATHS.sendBatch}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', [INTERNAL_TOKEN_HEADER]: sys.config.INTERNAL_API_TOKEN },
      body: JSON.stringify({ requests: requests.slice(i, i + 256) }),
    });
    results.push(...((await res.json()) as InternalSendBatchResponse).results);
  }
  return results;
}

/** Every stored (seq, message_id, client_msg_id, body) of a conversation, ascending, read straight from Cassandra. */
export async function storedRows(
  sys: TestSystem,
  conversationId: string,
  maxBuckets = 32,
): Promise<{ seq: number; message_id: string; client_msg_id: string; body: string }[]> {
  const out: { seq: number; message_id: string; client_msg_id: string; body: string }[] = [];
  for (let bucket = 0; bucket < maxBuckets; bucket++) {
    const rs = await sys.cassandra.execute(
      'SELECT seq, message_id, client_msg_id, body FROM messages WHERE conversation_id = ? AND bucket = ?',
      [long(conversationId), bucket],
      {
        prepare: true,
        fetchSize: 5000,
      },
    );
    for (const r of rs.rows)
      out.push({ seq: Number(r.seq), message_id: String(r.message_id), client_msg_id: r.client_msg_id as string, body: r.body as string });
  }
  return out.sort((a, b) => a.seq - b.seq);
}

/** Whether a message with seq ≥ `seq` is stored. */
export async function storedAtLeast(sys: TestSystem, conversationId: string, seq: number): Promise<boolean> {
  for (let bucket = Math.floor(seq / BUCKET_SIZE); bucket < Math.floor(seq / BUCKET_SIZE) + 16; bucket++) {
    const rs = await sys.cassandra.execute(
      'SELECT seq FROM messages WHERE conversation_id = ? AND bucket = ? AND seq >= ? LIMIT 1',
      [long(conversationId), bucket, long(seq)],
      { prepare: true },
    );
    if (rs.rowLength > 0) return true;
  }
  return false;
}

/** Sum of the sequencer group's committed offsets over the messages topic. */
export async function committedTotal(sys: TestSystem): Promise<number> {
  const admin = sys.kafka.admin();
  await admin.connect();
  try {
    const [committed] = await admin.fetchOffsets({ groupId: sys.env.SEQUENCER_GROUP_ID!, topics: [sys.topic] });
    return (committed?.partitions ?? []).reduce((n, p) => n + Math.max(0, Number(p.offset)), 0);
  } finally {
    await admin.disconnect();
  }
}

/** Whether the sequencer group has committed every record of the messages topic. */
export async function allCommitted(sys: TestSystem): Promise<boolean> {
  const admin = sys.kafka.admin();
  await admin.connect();
  try {
    const ends = await admin.fetchTopicOffsets(sys.topic);
    const [committed] = await admin.fetchOffsets({ groupId: sys.env.SEQUENCER_GROUP_ID!, topics: [sys.topic] });
    const byPartition = new Map((committed?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
    return ends.every((e) => Number(e.high) === 0 || byPartition.get(e.partition) === Number(e.high));
  } finally {
    await admin.disconnect();
  }
}
