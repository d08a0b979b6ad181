import cassandra from 'cassandra-driver';
import type { CassandraClient } from '@chat/server/clients';

const DAY_MS = 86_400_000;
/** Users per CQL query: one IN over that many inbox partitions per day. */
const USERS_PER_QUERY = 100;

/**
 * Inbox rows of a conversation in its members' partitions of today and yesterday, counted with
 * CQL (the ground truth for "N rows per message on write, none on read").
 */
export async function countInboxRows(db: CassandraClient, conversationId: string, userIds: readonly string[]): Promise<number> {
  const today = Math.floor(Date.now() / DAY_MS);
  const queries: Promise<number>[] = [];
  for (let i = 0; i < userIds.length; i += USERS_PER_QUERY) {
    const users = userIds.slice(i, i + USERS_PER_QUERY);
    for (const day of [today - 1, today]) {
      queries.push(
        db
          .execute(
            'SELECT count(*) AS n FROM inbox WHERE user_id IN ? AND day = ? AND conversation_id = ? ALLOW FILTERING',
            [users, day, cassandra.types.Long.fromString(conversationId)],
            { prepare: true },
          )
          .then((rs) => Number(rs.first()?.n ?? 0)),
      );
    }
  }
  return (await Promise.all(queries)).reduce((a, b) => a + b, 0);
}
