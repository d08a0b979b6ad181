import type { CassandraClient } from '@chat/server/clients';
import cassandra from 'cassandra-driver';
import { BatchLoader } from './batch-loader.js';
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
  /**
   * The cached member lists (as sets of user ids) that hold the user, without waiting: proof that
   * it shares a conversation with each of their members, as fresh as the cache. Possibly not all
   * of its conversations.
   */
  cachedMemberListsOf?(userId: string): ReadonlySet<string>[];
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
const CONVERSATIONS_QUERY = 'SELECT user_id, conversation_id FROM user_conversations WHERE user_id IN ?';
const MEMBERS_QUERY = 'SELECT user_id FROM conversation_members WHERE conversation_id = ?';

/** Users whose conversations one read asks for (`IN`): many subscribes arriving together cost one read per this many watchers. */
const USERS_PER_READ = 50;

/** Users the reverse index of cached member lists may hold before it is started afresh (it only saves reads). */
const MAX_INDEXED_USERS = 500_000;

interface MemberList {
  list: readonly string[];
  set: ReadonlySet<string>;
}

/**
 * Membership read from chat-service's Cassandra tables (`user_conversations`,
 * `conversation_members`; read-only — chat-service owns writes), cached for `cacheMs`. Users'
 * conversations not cached are read together: those asked for in one event-loop turn in one query.
 */
export class CassandraMembership implements Membership {
  private readonly byUser: TtlCache<ReadonlySet<string>>;
  private readonly byConversation: TtlCache<MemberList>;
  /** User → conversations whose loaded member list held it (checked against the cache on use). */
  private listsOf = new Map<string, Set<string>>();
  private readonly userReads: BatchLoader<ReadonlySet<string>>;

  constructor(
    private readonly db: CassandraClient,
    cacheMs: number,
  ) {
    this.byUser = new TtlCache(cacheMs);
    this.byConversation = new TtlCache(cacheMs, 10_000);
    this.userReads = new BatchLoader((userIds) => this.readConversations(userIds), USERS_PER_READ);
  }

  /**
   * Runs both reads once for nobody, so that their statements are prepared (and the driver's path
   * compiled) before the first subscribes: each group's first subscribe otherwise waited for the
   * preparation at every instance, and its batch held up the ones queued behind it.
   */
  async prepare(): Promise<void> {
    await Promise.all([this.readConversations(['nobody']), this.db.execute(MEMBERS_QUERY, [cassandra.types.Long.ZERO], PAGE)]);
  }

  conversationsOf(userId: string): Promise<ReadonlySet<string>> {
    return this.byUser.get(userId, () => this.userReads.load(userId));
  }

  private async readConversations(userIds: string[]): Promise<Map<string, ReadonlySet<string>>> {
    const out = new Map<string, Set<string>>(userIds.map((u) => [u, new Set()]));
    const rows = await this.db.execute(CONVERSATIONS_QUERY, [userIds], PAGE);
    for await (const row of rows) out.get(row.user_id as string)?.add(String(row.conversation_id));
    return out;
  }

  cachedConversationsOf(userId: string): ReadonlySet<string> | undefined {
    return this.byUser.peek(userId);
  }

  membersOf(conversationId: string): Promise<readonly string[]> {
    return this.byConversation
      .get(conversationId, async () => {
        const list: string[] = [];
        const rows = await this.db.execute(MEMBERS_QUERY, [cassandra.types.Long.fromString(conversationId)], PAGE);
        for await (const row of rows) list.push(row.user_id as string);
        this.index(conversationId, list);
        return { list, set: new Set(list) };
      })
      .then((m) => m.list);
  }

  cachedMemberListsOf(userId: string): ReadonlySet<string>[] {
    const conversations = this.listsOf.get(userId);
    if (!conversations) return [];
    const out: ReadonlySet<string>[] = [];
    for (const c of conversations) {
      const members = this.byConversation.peek(c)?.set;
      if (members?.has(userId)) out.push(members);
      else conversations.delete(c); // expired, or reloaded without the user
    }
    if (conversations.size === 0) this.listsOf.delete(userId);
    return out;
  }

  private index(conversationId: string, members: readonly string[]): void {
    if (this.listsOf.size > MAX_INDEXED_USERS) this.listsOf = new Map();
    for (const m of members) {
      let set = this.listsOf.get(m);
      if (!set) this.listsOf.set(m, (set = new Set()));
      set.add(conversationId);
    }
  }
}
