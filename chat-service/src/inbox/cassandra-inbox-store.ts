import cassandra from 'cassandra-driver';
import type { ChatMessage } from '@chat/protocol';
import { parseStoredMessage } from '@chat/protocol/internal';
import type { CassandraClient } from '@chat/server/clients';
import { fromLong, longToNumber, toLong } from '../store/long.js';
import type { InboxKey } from './inbox-cursor.js';
import { dayOf, type FanoutProgress, type InboxEntry, type InboxStore } from './inbox-store.js';

const IDEMPOTENT = { prepare: true, isIdempotent: true } as const;
const long = (n: number) => cassandra.types.Long.fromNumber(n);
/** Requests in flight per append: a 50-member fanout of a chunk stays a bounded burst. */
const CONCURRENCY = 128;

/** The message of an inbox row; none when the row predates migration 012 (or the text is not one). */
function storedMessage(text: unknown): ChatMessage | undefined {
  if (typeof text !== 'string') return undefined;
  try {
    return parseStoredMessage(JSON.parse(text));
  } catch {
    return undefined;
  }
}

/** InboxStore on tables inbox (migrations 007, 012) and inbox_fanout (007). */
export class CassandraInboxStore implements InboxStore {
  constructor(private readonly db: CassandraClient) {}

  async progress(conversationId: string): Promise<FanoutProgress> {
    const rs = await this.db.execute(
      'SELECT fanned_seq, pending_from, pending_to, pending_ts FROM inbox_fanout WHERE conversation_id = ?',
      [toLong(conversationId)],
      IDEMPOTENT,
    );
    const row = rs.first();
    if (!row) return { fannedSeq: 0 };
    const fannedSeq = longToNumber(row.fanned_seq);
    const to = longToNumber(row.pending_to);
    return to > fannedSeq ? { fannedSeq, pending: { from: longToNumber(row.pending_from), to, ts: longToNumber(row.pending_ts) } } : { fannedSeq };
  }

  async begin(conversationId: string, from: number, to: number, ts: number): Promise<void> {
    await this.db.execute(
      'UPDATE inbox_fanout SET pending_from = ?, pending_to = ?, pending_ts = ? WHERE conversation_id = ?',
      [long(from), long(to), long(ts), toLong(conversationId)],
      IDEMPOTENT,
    );
  }

  async append(userIds: Iterable<string>, messages: ChatMessage[], ts: number): Promise<number> {
    const day = dayOf(ts);
    const writes: [string, ChatMessage][] = [];
    for (const u of userIds) for (const m of messages) writes.push([u, m]);
    for (let i = 0; i < writes.length; i += CONCURRENCY) {
      await Promise.all(
        writes
          .slice(i, i + CONCURRENCY)
          .map(([u, m]) =>
            this.db.execute(
              'INSERT INTO inbox (user_id, day, entry_ts, conversation_id, seq, message_id, message) VALUES (?, ?, ?, ?, ?, ?, ?)',
              [u, day, long(ts), toLong(m.conversation_id), long(m.seq), toLong(m.message_id), JSON.stringify(m)],
              IDEMPOTENT,
            ),
          ),
      );
    }
    return writes.length;
  }

  async finish(conversationId: string, fannedSeq: number): Promise<void> {
    await this.db.execute('UPDATE inbox_fanout SET fanned_seq = ? WHERE conversation_id = ?', [long(fannedSeq), toLong(conversationId)], IDEMPOTENT);
  }

  async readSince(userId: string, after: number | InboxKey, untilTs: number, limit: number): Promise<InboxEntry[]> {
    const afterTs = typeof after === 'number' ? after : after.entry_ts;
    const days = Array.from({ length: Math.max(0, dayOf(untilTs) - dayOf(afterTs) + 1) }, (_, i) => dayOf(afterTs) + i);
    // Every day partition at once (one round trip, not one per day), each up to `limit`; then in order.
    const perDay = await Promise.all(
      days.map((day, i) =>
        // Only the first day can hold the key; later days start at their beginning.
        typeof after !== 'number' && i === 0
          ? this.db.execute(
              'SELECT entry_ts, conversation_id, seq, message_id, message FROM inbox WHERE user_id = ? AND day = ? AND (entry_ts, conversation_id, seq) > (?, ?, ?) AND (entry_ts) <= (?) LIMIT ?',
              [userId, day, long(after.entry_ts), toLong(after.conversation_id), long(after.seq), long(untilTs), limit],
              IDEMPOTENT,
            )
          : this.db.execute(
              'SELECT entry_ts, conversation_id, seq, message_id, message FROM inbox WHERE user_id = ? AND day = ? AND entry_ts > ? AND entry_ts <= ? LIMIT ?',
              [userId, day, long(afterTs), long(untilTs), limit],
              IDEMPOTENT,
            ),
      ),
    );
    const out: InboxEntry[] = [];
    for (const rs of perDay) {
      for (const r of rs.rows) {
        if (out.length >= limit) return out;
        const message = storedMessage(r.message);
        out.push({
          entry_ts: longToNumber(r.entry_ts),
          conversation_id: fromLong(r.conversation_id),
          seq: longToNumber(r.seq),
          message_id: fromLong(r.message_id),
          ...(message ? { message } : {}),
        });
      }
    }
    return out;
  }
}
