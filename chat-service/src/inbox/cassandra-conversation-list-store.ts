import cassandra from 'cassandra-driver';
import type { ChatMessage } from '@chat/protocol';
import type { CassandraClient } from '@chat/server/clients';
import { allRows } from './all-rows.js';
import { fromLong, longToNumber, toLong } from '../store/long.js';
import { PREVIEW_MAX_CHARS, type ConversationListRow, type ConversationListStore } from './conversation-list-store.js';

const IDEMPOTENT = { prepare: true, isIdempotent: true } as const;
const long = (n: number) => cassandra.types.Long.fromNumber(n);
const CONCURRENCY = 128;

/** ConversationListStore on table user_conversation_state (migration 007). */
export class CassandraConversationListStore implements ConversationListStore {
  constructor(private readonly db: CassandraClient) {}

  async recordLast(userIds: Iterable<string>, m: ChatMessage): Promise<number> {
    const users = [...userIds];
    const preview = m.body.slice(0, PREVIEW_MAX_CHARS);
    for (let i = 0; i < users.length; i += CONCURRENCY) {
      await Promise.all(
        users
          .slice(i, i + CONCURRENCY)
          .map((u) =>
            this.db.execute(
              'UPDATE user_conversation_state USING TIMESTAMP ? SET last_activity = ?, last_seq = ?, last_message_id = ?, preview = ?, preview_sender = ? WHERE user_id = ? AND conversation_id = ?',
              [long(m.seq), long(m.created_at), long(m.seq), toLong(m.message_id), preview, m.sender_id, u, toLong(m.conversation_id)],
              IDEMPOTENT,
            ),
          ),
      );
    }
    return users.length;
  }

  async rows(userId: string): Promise<ConversationListRow[]> {
    const out: ConversationListRow[] = [];
    const query =
      'SELECT conversation_id, last_activity, last_seq, last_message_id, preview, preview_sender, muted FROM user_conversation_state WHERE user_id = ?';
    for (const r of await allRows(this.db, query, [userId])) {
      out.push({
        conversation_id: fromLong(r.conversation_id),
        last_activity: longToNumber(r.last_activity),
        last_seq: longToNumber(r.last_seq),
        last_message_id: r.last_message_id ? fromLong(r.last_message_id) : null,
        preview: (r.preview as string | null) ?? null,
        preview_sender: (r.preview_sender as string | null) ?? null,
        muted: r.muted === true,
      });
    }
    return out;
  }
}
