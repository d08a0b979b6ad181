import cassandra from 'cassandra-driver';
import type { CassandraClient, ChatMessage } from '@chat/shared';
import { BUCKET_SIZE, bucketOf, byBucket, type MessageStore } from './message-store.js';
import { fromLong, longToNumber, toLong } from './long.js';

const IDEMPOTENT = { prepare: true, isIdempotent: true } as const;
const INSERT =
  'INSERT INTO messages (conversation_id, bucket, seq, message_id, sender_id, client_msg_id, body, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)';

export class CassandraMessageStore implements MessageStore {
  /** Highest bucket known to be recorded per conversation (only ever grows). */
  private readonly recordedBucket = new Map<string, number>();

  constructor(
    private readonly db: CassandraClient,
    private readonly epochOf: (conversationId: string) => Promise<string>,
  ) {}

  async append(conversationId: string, messages: ChatMessage[], timestamp: bigint): Promise<void> {
    const id = toLong(conversationId);
    const ts = cassandra.types.Long.fromString(timestamp.toString());
    for (const run of byBucket(messages)) {
      const bucket = bucketOf(run[0]!.seq);
      if (bucket > (await this.recordedBucketOf(conversationId))) {
        await this.db.execute('UPDATE conversation_seq SET last_bucket = ? WHERE conversation_id = ?', [bucket, id], { ...IDEMPOTENT, timestamp: ts });
        this.recordedBucket.set(conversationId, bucket);
      }
      // One partition, one unlogged batch: applied atomically, so a crash never leaves a hole.
      await this.db.batch(
        run.map((m) => ({
          query: INSERT,
          params: [id, bucket, toLong(String(m.seq)), toLong(m.message_id), m.sender_id, m.client_msg_id, m.body, new Date(m.created_at)],
        })),
        { ...IDEMPOTENT, logged: false, timestamp: ts },
      );
    }
  }

  private async recordedBucketOf(conversationId: string): Promise<number> {
    const cached = this.recordedBucket.get(conversationId);
    if (cached !== undefined) return cached;
    const rs = await this.db.execute('SELECT last_bucket FROM conversation_seq WHERE conversation_id = ?', [toLong(conversationId)], IDEMPOTENT);
    const bucket = (rs.first()?.last_bucket as number | null | undefined) ?? -1;
    this.recordedBucket.set(conversationId, bucket);
    return bucket;
  }

  async lastSeq(conversationId: string): Promise<number> {
    const id = toLong(conversationId);
    const rs = await this.db.execute('SELECT last_bucket FROM conversation_seq WHERE conversation_id = ?', [id], IDEMPOTENT);
    // The recorded bucket may still be empty (recorded just before its first write): look one lower.
    for (let bucket = (rs.first()?.last_bucket as number | null | undefined) ?? 0, tries = 0; bucket >= 0 && tries < 2; bucket--, tries++) {
      const top = await this.db.execute('SELECT seq FROM messages WHERE conversation_id = ? AND bucket = ? ORDER BY seq DESC LIMIT 1', [id, bucket], IDEMPOTENT);
      const row = top.first();
      if (row) return longToNumber(row.seq);
    }
    return 0;
  }

  async messageIdAt(conversationId: string, seq: number): Promise<string | null> {
    const rs = await this.db.execute(
      'SELECT message_id FROM messages WHERE conversation_id = ? AND bucket = ? AND seq = ?',
      [toLong(conversationId), bucketOf(seq), toLong(String(seq))],
      IDEMPOTENT,
    );
    const row = rs.first();
    return row ? fromLong(row.message_id) : null;
  }

  async lastSeqs(conversationIds: string[]): Promise<Map<string, number>> {
    return new Map(await Promise.all(conversationIds.map(async (cid) => [cid, await this.lastSeq(cid)] as const)));
  }

  private async rows(conversationId: string, query: string, params: unknown[]): Promise<ChatMessage[]> {
    const epoch = await this.epochOf(conversationId);
    const rs = await this.db.execute(query, params, IDEMPOTENT);
    return rs.rows.map((r) => ({
      conversation_id: conversationId,
      message_id: fromLong(r.message_id),
      seq: longToNumber(r.seq),
      epoch,
      sender_id: r.sender_id as string,
      client_msg_id: r.client_msg_id as string,
      body: r.body as string,
      created_at: (r.created_at as Date).getTime(),
    }));
  }

  async readAfter(conversationId: string, afterSeq: number, untilSeq: number, limit: number): Promise<ChatMessage[]> {
    const out: ChatMessage[] = [];
    const id = toLong(conversationId);
    for (let bucket = bucketOf(afterSeq + 1); bucket <= bucketOf(untilSeq) && out.length < limit; bucket++) {
      const from = Math.max(afterSeq, bucket * BUCKET_SIZE - 1);
      out.push(
        ...(await this.rows(
          conversationId,
          'SELECT * FROM messages WHERE conversation_id = ? AND bucket = ? AND seq > ? AND seq <= ? LIMIT ?',
          [id, bucket, toLong(String(from)), toLong(String(untilSeq)), limit - out.length],
        )),
      );
    }
    return out;
  }

  async readBefore(conversationId: string, beforeSeq: number, limit: number): Promise<ChatMessage[]> {
    const out: ChatMessage[] = [];
    const id = toLong(conversationId);
    for (let bucket = bucketOf(beforeSeq - 1); bucket >= 0 && out.length < limit; bucket--) {
      const page = await this.rows(
        conversationId,
        'SELECT * FROM messages WHERE conversation_id = ? AND bucket = ? AND seq < ? ORDER BY seq DESC LIMIT ?',
        [id, bucket, toLong(String(beforeSeq)), limit - out.length],
      );
      out.push(...page);
    }
    return out.reverse();
  }
}
