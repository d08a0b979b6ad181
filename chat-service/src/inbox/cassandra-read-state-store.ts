import cassandra from 'cassandra-driver';
import type { CassandraClient } from '@chat/server/clients';
import { allRows } from './all-rows.js';
import { fromLong, longToNumber, toLong } from '../store/long.js';
import type { ReadStateStore } from './read-state-store.js';

const IDEMPOTENT = { prepare: true, isIdempotent: true } as const;
/** Positions are written with their seq as write timestamp (µs units are irrelevant: only order counts). */
const MARK = 'UPDATE read_positions USING TIMESTAMP ? SET read_seq = ? WHERE user_id = ? AND conversation_id = ?';
/** The same position in the conversation's partition, for read counts. */
const MARK_IN_CONVERSATION = 'UPDATE conversation_read_positions USING TIMESTAMP ? SET read_seq = ? WHERE conversation_id = ? AND user_id = ?';

/** ReadStateStore on tables read_positions and user_conversation_state (migration 007) and conversation_read_positions (010). */
export class CassandraReadStateStore implements ReadStateStore {
  constructor(private readonly db: CassandraClient) {}

  async markRead(userId: string, conversationId: string, seq: number): Promise<void> {
    await this.markReadMany([{ userId, conversationId, seq }]);
  }

  async markReadMany(entries: { userId: string; conversationId: string; seq: number }[]): Promise<void> {
    for (let i = 0; i < entries.length; i += 256) {
      await Promise.all(
        entries
          .slice(i, i + 256)
          .filter((e) => e.seq > 0)
          .flatMap((e) => {
            const seq = cassandra.types.Long.fromNumber(e.seq);
            const cid = toLong(e.conversationId);
            return [this.db.execute(MARK, [seq, seq, e.userId, cid], IDEMPOTENT), this.db.execute(MARK_IN_CONVERSATION, [seq, seq, cid, e.userId], IDEMPOTENT)];
          }),
      );
    }
  }

  async readSeq(userId: string, conversationId: string): Promise<number> {
    const rs = await this.db.execute(
      'SELECT read_seq FROM read_positions WHERE user_id = ? AND conversation_id = ?',
      [userId, toLong(conversationId)],
      IDEMPOTENT,
    );
    return longToNumber(rs.first()?.read_seq);
  }

  async readSeqs(userId: string): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (const r of await allRows(this.db, 'SELECT conversation_id, read_seq FROM read_positions WHERE user_id = ?', [userId])) {
      out.set(fromLong(r.conversation_id), longToNumber(r.read_seq));
    }
    return out;
  }

  async positionsIn(conversationId: string): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (const r of await allRows(this.db, 'SELECT user_id, read_seq FROM conversation_read_positions WHERE conversation_id = ?', [toLong(conversationId)])) {
      out.set(r.user_id as string, longToNumber(r.read_seq));
    }
    return out;
  }

  async setMuted(userId: string, conversationId: string, muted: boolean): Promise<void> {
    await this.db.execute(
      'UPDATE user_conversation_state SET muted = ? WHERE user_id = ? AND conversation_id = ?',
      [muted, userId, toLong(conversationId)],
      IDEMPOTENT,
    );
  }

  async isMuted(userId: string, conversationId: string): Promise<boolean> {
    const rs = await this.db.execute(
      'SELECT muted FROM user_conversation_state WHERE user_id = ? AND conversation_id = ?',
      [userId, toLong(conversationId)],
      IDEMPOTENT,
    );
    return rs.first()?.muted === true;
  }

  async mutedConversations(userId: string): Promise<Set<string>> {
    const out = new Set<string>();
    for (const r of await allRows(this.db, 'SELECT conversation_id, muted FROM user_conversation_state WHERE user_id = ?', [userId])) {
      if (r.muted === true) out.add(fromLong(r.conversation_id));
    }
    return out;
  }
}
