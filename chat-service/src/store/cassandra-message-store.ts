import cassandra from 'cassandra-driver';
import type { ChatMessage } from '@chat/protocol';
import type { CassandraClient } from '@chat/server/clients';
import { ByteLru, stringBytes } from '../cache/byte-lru.js';
import type { CoalescingBatcher, Statement } from './coalescing-batcher.js';
import { BUCKET_SIZE, bucketOf, byBucket, type MessageStore } from './message-store.js';
import { attachmentsOf, encodeAttachments } from './message-attachments-column.js';
import { bigintToLong, fromLong, longToNumber, toLong } from './long.js';
import { type MessageBuckets, sendRowStatement } from './cassandra-sequenced-send-store.js';
import type { SequencedSend } from './sequenced-send-store.js';

const IDEMPOTENT = { prepare: true, isIdempotent: true } as const;
/** Map entry + number, besides the key string. */
const RECORDED_BUCKET_ENTRY_BYTES = 80;
const INSERT =
  'INSERT INTO messages (conversation_id, bucket, seq, message_id, sender_id, client_msg_id, body, created_at, attachments) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) USING TIMESTAMP ?';
const INSERT_ATTACHMENT_MESSAGE = 'INSERT INTO attachment_messages (attachment_id, seq) VALUES (?, ?)';
/** A row's values besides its strings. */
const ROW_BYTES = 60;

export class CassandraMessageStore implements MessageStore, MessageBuckets {
  /** Highest bucket known to be recorded per conversation (only ever grows); bounded in bytes, evicted with the sequencer's state. */
  private readonly recordedBucket: ByteLru<string, number>;

  constructor(
    private readonly db: CassandraClient,
    private readonly batcher: CoalescingBatcher,
    private readonly epochOf: (conversationId: string) => Promise<string>,
    /** Approximate heap budget of the recorded-bucket cache. @default 4194304 (4 MiB, ≈ 40,000 conversations) */
    recordedBucketMaxBytes = 4 * 1024 * 1024,
  ) {
    this.recordedBucket = new ByteLru(recordedBucketMaxBytes, (cid) => RECORDED_BUCKET_ENTRY_BYTES + stringBytes(cid));
  }

  forgetConversation(conversationId: string): void {
    this.recordedBucket.delete(conversationId);
  }

  /** Approximate heap bytes of the recorded-bucket cache. */
  get cacheBytes(): number {
    return this.recordedBucket.bytes;
  }

  async append(conversationId: string, messages: ChatMessage[], timestamp: bigint, sends: readonly SequencedSend[] = []): Promise<void> {
    const id = toLong(conversationId);
    const ts = bigintToLong(timestamp);
    const sendOf = new Map(sends.map((s) => [s.message_id, s]));
    for (const run of byBucket(messages)) {
      const bucket = bucketOf(run[0]!.seq);
      if (bucket > (await this.recordedBucketOf(conversationId))) {
        await this.db.execute('INSERT INTO conversation_buckets (conversation_id, bucket) VALUES (?, ?)', [id, bucket], { ...IDEMPOTENT, timestamp: ts });
        this.recordedBucket.set(conversationId, bucket);
      }
      // Which messages carry which attachments, first: a stored message's attachments are always findable.
      await this.recordAttachments(run, ts);
      // One partition key, one group of an unlogged batch: the messages and their deduplication
      // rows are one mutation, applied atomically, so a crash never leaves a hole or a message
      // without its row.
      const statements: Statement[] = [];
      let bytes = 0;
      for (const m of run) {
        statements.push({
          query: INSERT,
          params: [
            id,
            bucket,
            toLong(String(m.seq)),
            toLong(m.message_id),
            m.sender_id,
            m.client_msg_id,
            m.body,
            new Date(m.created_at),
            encodeAttachments(m.attachments),
            ts,
          ],
        });
        bytes += ROW_BYTES + Buffer.byteLength(m.body) + m.sender_id.length + m.client_msg_id.length;
        const send = sendOf.get(m.message_id);
        if (send) {
          const row = sendRowStatement(send, bucket, ts);
          statements.push(row.statement);
          bytes += row.bytes;
        }
      }
      await this.batcher.write(statements, bytes);
    }
  }

  private async recordAttachments(run: ChatMessage[], ts: cassandra.types.Long): Promise<void> {
    const rows = run.flatMap((m) => (m.attachments ?? []).map((a) => [toLong(a.attachment_id), toLong(String(m.seq))]));
    await Promise.all(rows.map((params) => this.db.execute(INSERT_ATTACHMENT_MESSAGE, params, { ...IDEMPOTENT, timestamp: ts })));
  }

  async lastSeqCarrying(attachmentId: string): Promise<number> {
    const rs = await this.db.execute('SELECT seq FROM attachment_messages WHERE attachment_id = ? LIMIT 1', [toLong(attachmentId)], IDEMPOTENT);
    const row = rs.first();
    return row ? longToNumber(row.seq) : 0;
  }

  private async recordedBucketOf(conversationId: string): Promise<number> {
    const cached = this.recordedBucket.get(conversationId);
    if (cached !== undefined) return cached;
    const bucket = await this.lastBucket(toLong(conversationId));
    this.recordedBucket.set(conversationId, bucket);
    return bucket;
  }

  highestBucket(conversationId: string): Promise<number> {
    return this.lastBucket(toLong(conversationId));
  }

  async firstCreatedAt(conversationId: string, bucket: number): Promise<number | null> {
    const rs = await this.db.execute(
      'SELECT created_at FROM messages WHERE conversation_id = ? AND bucket = ? LIMIT 1',
      [toLong(conversationId), bucket],
      IDEMPOTENT,
    );
    const first = rs.first();
    return first ? (first.created_at as Date).getTime() : null;
  }

  /** Highest recorded bucket, -1 for none (conversation_buckets; conversation_seq for conversations written before it). */
  private async lastBucket(id: cassandra.types.Long): Promise<number> {
    const [rows, legacy] = await Promise.all([
      this.db.execute('SELECT bucket FROM conversation_buckets WHERE conversation_id = ? LIMIT 1', [id], IDEMPOTENT),
      this.db.execute('SELECT last_bucket FROM conversation_seq WHERE conversation_id = ?', [id], IDEMPOTENT),
    ]);
    return Math.max((rows.first()?.bucket as number | undefined) ?? -1, (legacy.first()?.last_bucket as number | null | undefined) ?? -1);
  }

  async lastSeq(conversationId: string): Promise<number> {
    const id = toLong(conversationId);
    // The recorded bucket may still be empty (recorded just before its first write): look one lower.
    for (let bucket = Math.max(0, await this.lastBucket(id)), tries = 0; bucket >= 0 && tries < 2; bucket--, tries++) {
      const top = await this.db.execute(
        'SELECT seq FROM messages WHERE conversation_id = ? AND bucket = ? ORDER BY seq DESC LIMIT 1',
        [id, bucket],
        IDEMPOTENT,
      );
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
      ...attachmentsOf(r.attachments),
    }));
  }

  async readAfter(conversationId: string, afterSeq: number, untilSeq: number, limit: number): Promise<ChatMessage[]> {
    const out: ChatMessage[] = [];
    const id = toLong(conversationId);
    for (let bucket = bucketOf(afterSeq + 1); bucket <= bucketOf(untilSeq) && out.length < limit; bucket++) {
      const from = Math.max(afterSeq, bucket * BUCKET_SIZE - 1);
      out.push(
        ...(await this.rows(conversationId, 'SELECT * FROM messages WHERE conversation_id = ? AND bucket = ? AND seq > ? AND seq <= ? LIMIT ?', [
          id,
          bucket,
          toLong(String(from)),
          toLong(String(untilSeq)),
          limit - out.length,
        ])),
      );
    }
    return out;
  }

  async readBefore(conversationId: string, beforeSeq: number, limit: number): Promise<ChatMessage[]> {
    const out: ChatMessage[] = [];
    const id = toLong(conversationId);
    for (let bucket = bucketOf(beforeSeq - 1); bucket >= 0 && out.length < limit; bucket--) {
      const page = await this.rows(conversationId, 'SELECT * FROM messages WHERE conversation_id = ? AND bucket = ? AND seq < ? ORDER BY seq DESC LIMIT ?', [
        id,
        bucket,
        toLong(String(beforeSeq)),
        limit - out.length,
      ]);
      out.push(...page);
    }
    return out.reverse();
  }
}
