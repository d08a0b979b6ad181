import cassandra from 'cassandra-driver';
import type { CassandraClient } from '@chat/server/clients';

/** A message as storage holds it. */
export interface StoredMessage {
  conversation_id: string;
  seq: number;
  message_id: string;
  sender_id: string;
  client_msg_id: string;
  body?: string;
}

/** Reads every stored message of one conversation (any order). */
export type StoredReader = (conversationId: string) => Promise<StoredMessage[]>;

const long = (v: string | number) => cassandra.types.Long.fromString(String(v));

/**
 * Reads every stored message of a conversation straight from the `messages` table: buckets 0 up to
 * the last recorded one (`conversation_buckets`, or `conversation_seq` for conversations written
 * before it), and past it until an empty bucket (a bucket written after its record, or a gap the
 * checker should see).
 */
export function cassandraMessageReader(client: CassandraClient): StoredReader {
  return async (conversationId: string): Promise<StoredMessage[]> => {
    const id = long(conversationId);
    const [buckets, legacy] = await Promise.all([
      client.execute('SELECT bucket FROM conversation_buckets WHERE conversation_id = ? LIMIT 1', [id], { prepare: true }),
      client.execute('SELECT last_bucket FROM conversation_seq WHERE conversation_id = ?', [id], { prepare: true }),
    ]);
    const lastBucket = Math.max(Number(buckets.first()?.get('bucket') ?? 0), Number(legacy.first()?.get('last_bucket') ?? 0));
    const out: StoredMessage[] = [];
    for (let bucket = 0; ; bucket++) {
      let rows = 0;
      let pageState: string | undefined;
      do {
        const rs = await client.execute(
          'SELECT seq, message_id, sender_id, client_msg_id, body FROM messages WHERE conversation_id = ? AND bucket = ?',
          [long(conversationId), bucket],
          {
            prepare: true,
            fetchSize: 5000,
            ...(pageState ? { pageState } : {}),
          },
        );
        for (const r of rs.rows) {
          out.push({
            conversation_id: conversationId,
            seq: Number(r.get('seq')),
            message_id: String(r.get('message_id')),
            sender_id: String(r.get('sender_id')),
            client_msg_id: String(r.get('client_msg_id')),
            body: String(r.get('body')),
          });
        }
        rows += rs.rowLength;
        pageState = rs.pageState ?? undefined;
      } while (pageState);
      if (bucket >= lastBucket && rows === 0) break;
    }
    return out;
  };
}
