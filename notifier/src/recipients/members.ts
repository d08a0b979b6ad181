import type { CassandraClient } from '@chat/server/clients';
import cassandra from 'cassandra-driver';

const PAGE = { prepare: true, fetchSize: 5000, isIdempotent: true } as const;

export interface ConversationFacts {
  members: readonly string[];
  title: string | null;
}

/**
 * Conversation members and title from chat-service's tables (read-only), cached for `cacheMs`: a
 * burst of messages costs one read, and a member added or removed is seen within the TTL.
 */
export class ConversationDirectory {
  private readonly cache = new Map<string, { at: number; facts: Promise<ConversationFacts> }>();

  constructor(
    private readonly db: CassandraClient,
    private readonly cacheMs: number,
    private readonly maxEntries = 10_000,
  ) {}

  get(conversationId: string): Promise<ConversationFacts> {
    const now = Date.now();
    const hit = this.cache.get(conversationId);
    if (hit && now - hit.at < this.cacheMs) return hit.facts;
    const facts = this.load(conversationId);
    if (this.cache.size >= this.maxEntries) this.cache.delete(this.cache.keys().next().value as string);
    this.cache.set(conversationId, { at: now, facts });
    facts.catch(() => this.cache.delete(conversationId));
    return facts;
  }

  private async load(conversationId: string): Promise<ConversationFacts> {
    const id = cassandra.types.Long.fromString(conversationId);
    const [rows, conv] = await Promise.all([
      this.db.execute('SELECT user_id FROM conversation_members WHERE conversation_id = ?', [id], PAGE),
      this.db.execute('SELECT title FROM conversations WHERE conversation_id = ?', [id], PAGE),
    ]);
    const members: string[] = [];
    for await (const row of rows) members.push(row.get('user_id') as string);
    return { members, title: (conv.first()?.get('title') as string | null | undefined) ?? null };
  }
}
