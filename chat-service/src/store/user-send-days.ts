import type { CassandraClient } from '@chat/server/clients';

/**
 * The UTC days on which each user sent messages (deploy/cassandra/005_user_send_days.cql).
 * Contract: `record(user, day)` completes before any send of that user on that day is acked, so
 * "no day since D" proves the user sent nothing since the start of day D. Rows live 3 days.
 */
export interface UserSendDays {
  /** Whether the user has a row for `sinceDay` or any later day. */
  sentSince(userId: string, sinceDay: number): Promise<boolean>;
  record(userId: string, day: number): Promise<void>;
}

const IDEMPOTENT = { prepare: true, isIdempotent: true } as const;

export class CassandraUserSendDays implements UserSendDays {
  constructor(private readonly db: CassandraClient) {}

  async sentSince(userId: string, sinceDay: number): Promise<boolean> {
    const rs = await this.db.execute('SELECT day FROM user_send_days WHERE user_id = ? AND day >= ? LIMIT 1', [userId, sinceDay], IDEMPOTENT);
    return rs.rows.length > 0;
  }

  async record(userId: string, day: number): Promise<void> {
    await this.db.execute('INSERT INTO user_send_days (user_id, day) VALUES (?, ?)', [userId, day], IDEMPOTENT);
  }
}
