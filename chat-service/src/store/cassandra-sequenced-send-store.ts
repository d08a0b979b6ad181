import type cassandra from 'cassandra-driver';
import type { CassandraClient } from '@chat/server/clients';
import type { Statement } from './coalescing-batcher.js';
import { fromLong, longToNumber, toLong } from './long.js';
import { clientKey, InFlightLimit, type SendKey, type SequencedSend, type SequencedSendStore } from './sequenced-send-store.js';

const IDEMPOTENT = { prepare: true, isIdempotent: true } as const;
/** Point reads kept in flight by the store: enough to hide latency, few enough not to flood the pool. */
const MAX_IN_FLIGHT = 256;
/** G5's window either side of a key's created_at. */
const WINDOW_MS = 24 * 3600 * 1000;
/** created_at comes from the send path's clocks and may run out of seq order by this much. */
const CREATED_AT_DISORDER_MS = 60_000;
/** Buckets read per round after the first, which reads only the newest (enough for most conversations). */
const BUCKETS_PER_ROUND = 4;
const SELECT =
  'SELECT message_id, seq, body_sha256, created_at FROM sequenced_sends_by_bucket WHERE conversation_id = ? AND bucket = ? AND sender_id = ? AND client_msg_id = ?';
const INSERT =
  'INSERT INTO sequenced_sends_by_bucket (conversation_id, bucket, sender_id, client_msg_id, message_id, seq, body_sha256, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) USING TIMESTAMP ?';
/** A row's values besides its strings. */
const ROW_BYTES = 64;

/** Where a conversation's messages are (the message store's partitions). */
export interface MessageBuckets {
  /** Highest bucket that may hold messages, -1 for none. */
  highestBucket(conversationId: string): Promise<number>;
  /** created_at of the bucket's first stored message, null when it holds none. */
  firstCreatedAt(conversationId: string, bucket: number): Promise<number | null>;
}

/**
 * The deduplication row of `send`, for the batch group that writes its message: same partition
 * key (conversation_id, bucket), so Cassandra applies both in one mutation
 * (deploy/cassandra/014_sequenced_sends_by_bucket.cql).
 */
export function sendRowStatement(send: SequencedSend, bucket: number, timestamp: cassandra.types.Long): { statement: Statement; bytes: number } {
  return {
    statement: {
      query: INSERT,
      params: [
        toLong(send.conversation_id),
        bucket,
        send.sender_id,
        send.client_msg_id,
        toLong(send.message_id),
        toLong(String(send.seq)),
        send.body_sha256,
        new Date(send.created_at),
        timestamp,
      ],
    },
    bytes: ROW_BYTES + send.sender_id.length + send.client_msg_id.length + send.body_sha256.length,
  };
}

/** SequencedSendStore on `sequenced_sends_by_bucket`, whose rows CassandraMessageStore writes with their messages. */
export class CassandraSequencedSendStore implements SequencedSendStore {
  private readonly limit = new InFlightLimit(MAX_IN_FLIGHT);

  constructor(
    private readonly db: CassandraClient,
    private readonly buckets: MessageBuckets,
  ) {}

  /**
   * Reads the buckets newest first (the newest alone, then BUCKETS_PER_ROUND at a time) until one
   * starts before every key's window (a conversation's messages are stored in seq order, and
   * created_at follows it up to CREATED_AT_DISORDER_MS).
   */
  async find(conversationId: string, keys: SendKey[]): Promise<Map<string, SequencedSend[]>> {
    const out = new Map<string, SequencedSend[]>();
    const unique = new Map(keys.map((k) => [clientKey(k), k]));
    if (unique.size === 0) return out;
    const oldestWanted = Math.min(...keys.map((k) => k.created_at)) - WINDOW_MS - CREATED_AT_DISORDER_MS;
    let bucket = await this.buckets.highestBucket(conversationId);
    for (let width = 1; bucket >= 0; width = BUCKETS_PER_ROUND) {
      const round = Array.from({ length: Math.min(width, bucket + 1) }, (_, i) => bucket - i);
      const firsts = await Promise.all(round.map((b) => this.readBucket(conversationId, b, [...unique.values()], out)));
      if (firsts.some((first) => first !== null && first < oldestWanted)) break;
      bucket -= round.length;
    }
    return out;
  }

  /** Adds the bucket's rows of `keys` to `out`; returns the created_at of its first message. */
  private async readBucket(conversationId: string, bucket: number, keys: SendKey[], out: Map<string, SequencedSend[]>): Promise<number | null> {
    const id = toLong(conversationId);
    const [first] = await Promise.all([
      this.limit.run(() => this.buckets.firstCreatedAt(conversationId, bucket)),
      ...keys.map(async (k) => {
        const rs = await this.limit.run(() => this.db.execute(SELECT, [id, bucket, k.sender_id, k.client_msg_id], IDEMPOTENT));
        for (const r of rs.rows) {
          const rows = out.get(clientKey(k)) ?? [];
          rows.push({
            conversation_id: conversationId,
            sender_id: k.sender_id,
            client_msg_id: k.client_msg_id,
            message_id: fromLong(r.message_id),
            seq: longToNumber(r.seq),
            body_sha256: r.body_sha256 as string,
            created_at: (r.created_at as Date).getTime(),
          });
          out.set(clientKey(k), rows);
        }
      }),
    ]);
    return first;
  }
}
