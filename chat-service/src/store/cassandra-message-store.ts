import cassandra from 'cassandra-driver';
import type { CassandraClient, ChatMessage } from '@chat/shared';
import { BUCKET_SIZE, bucketOf, type MessageStore, type SeqClaim, type SeqState } from './message-store.js';
import { fromLong, longToNumber, toLong } from './long.js';

const IDEMPOTENT = { prepare: true, isIdempotent: true } as const;

export class CassandraMessageStore implements MessageStore {
  constructor(
    private readonly db: CassandraClient,
    private readonly epochOf: (conversationId: string) => Promise<string>,
  ) {}

  async seqState(conversationId: string): Promise<SeqState> {
    const rs = await this.db.execute(
      'SELECT last_seq, pending_first_seq, pending_message_ids FROM conversation_seq WHERE conversation_id = ?',
      [toLong(conversationId)],
      // A serial read sees every committed claim, including one whose commit phase did not finish.
      { ...IDEMPOTENT, consistency: cassandra.types.consistencies.localSerial },
    );
    const row = rs.first();
    if (!row) return { lastSeq: 0, pendingFirstSeq: 0, pendingMessageIds: [] };
    return {
      lastSeq: longToNumber(row.last_seq),
      pendingFirstSeq: longToNumber(row.pending_first_seq),
      pendingMessageIds: ((row.pending_message_ids as unknown[] | null) ?? []).map(fromLong),
    };
  }

  async claim({ conversationId, expectedLastSeq, messageIds }: SeqClaim): Promise<boolean> {
    const id = toLong(conversationId);
    const next = [toLong(String(expectedLastSeq + messageIds.length)), toLong(String(expectedLastSeq + 1)), messageIds.map(toLong)];
    const rs =
      expectedLastSeq === 0
        ? await this.db.execute(
            'INSERT INTO conversation_seq (conversation_id, last_seq, pending_first_seq, pending_message_ids) VALUES (?, ?, ?, ?) IF NOT EXISTS',
            [id, ...next],
            { prepare: true },
          )
        : await this.db.execute(
            'UPDATE conversation_seq SET last_seq = ?, pending_first_seq = ?, pending_message_ids = ? WHERE conversation_id = ? IF last_seq = ?',
            [...next, id, toLong(String(expectedLastSeq))],
            { prepare: true },
          );
    return rs.wasApplied();
  }

  async write(messages: ChatMessage[]): Promise<void> {
    await Promise.all(
      messages.map((m) =>
        this.db.execute(
          'INSERT INTO messages (conversation_id, bucket, seq, message_id, sender_id, client_msg_id, body, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
          [toLong(m.conversation_id), bucketOf(m.seq), toLong(String(m.seq)), toLong(m.message_id), m.sender_id, m.client_msg_id, m.body, new Date(m.created_at)],
          IDEMPOTENT,
        ),
      ),
    );
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

  async lastSeqs(conversationIds: string[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    await Promise.all(
      conversationIds.map(async (cid) => {
        const rs = await this.db.execute('SELECT last_seq FROM conversation_seq WHERE conversation_id = ?', [toLong(cid)], IDEMPOTENT);
        out.set(cid, longToNumber(rs.first()?.last_seq));
      }),
    );
    return out;
  }
}
