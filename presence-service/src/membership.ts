import type { CassandraClient } from '@chat/server/clients';
import cassandra from 'cassandra-driver';
import { TtlCache } from './ttl-cache.js';

/**
 * Who is in which conversation, as presence and typing need it. Read-only; may be stale by the
 * cache TTL (PRESENCE_MEMBERSHIP_CACHE_MS): a removed member can keep seeing presence/typing that
 * long. Rejects when the backing store is unreachable.
 */
export interface Membership {
  /** Conversation ids the user belongs to. */
  conversationsOf(userId: string): Promise<ReadonlySet<string>>;
  /** User ids of the conversation's members. */
  membersOf(conversationId: string): Promise<readonly string[]>;
  /** `conversationsOf` if it is at hand without waiting (cached); undefined otherwise. */
  cachedConversationsOf?(userId: string): ReadonlySet<string> | undefined;
}

/** Whether `a` and `b` share at least one conversation (`a` sees itself). */
export async function sharesConversation(membership: Membership, a: string, b: string): Promise<boolean> {
  if (a === b) return true;
  const [mine, theirs] = await Promise.all([membership.conversationsOf(a), membership.conversationsOf(b)]);
  return intersects(mine, theirs);
}

/** Whether two sets of conversation ids share one. */
export function intersects(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  const [small, large] = a.size <= b.size ? [a, b] : [b, a];
  for (const c of small) if (large.has(c)) return true;
  return false;
}

const PAGE = { prepare: true, fetchSize: 5000, isIdempotent: true } as const;

/**
 * Membership read from chat-service's Cassandra tables (`user_conversations`,
 * `conversation_members`; read-only — chat-service owns writes), cached for `cacheMs`.
 */
export class CassandraMembership implements Membership {
  private readonly byUser: TtlCache<ReadonlySet<string>>;
  private readonly byConversation: TtlCache<readonly string[]>;

  constructor(
    private readonly db: CassandraClient,
    cacheMs: number,
  ) {
    this.byUser = new TtlCache(cacheMs);
    this.byConversation = new TtlCache(cacheMs, 10_000);
  }

  conversationsOf(userId: string): Promise<ReadonlySet<string>> {
    return this.byUser.get(userId, async () => {
      const out = new Set<string>();
      const rows = await this.db.execute('SELECT conversation_id FROM user_conversations WHERE user_id = ?', [userId], PAGE);
      for await (const row of rows) out.add(String(row.conversation_id));
      return out;
    });
  }

  cachedConversationsOf(userId: string): ReadonlySet<string> | undefined {
    return this.byUser.peek(userId);
  }

  membersOf(conversationId: string): Promise<readonly string[]> {
    return this.byConversation.get(conversationId, async () => {
      const out: string[] = [];
      const rows = await this.db.execute(
        'SELECT user_id FROM conversation_members WHERE conversation_id = ?',
        [cassandra.types.Long.fromString(conversationId)],
        PAGE,
      );
      for await (const row of rows) out.push(row.user_id as string);
      return out;
    });
  }
}
