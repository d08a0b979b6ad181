import cassandra from 'cassandra-driver';
import type { CassandraClient } from '@chat/server/clients';
import type { Conversation, ConversationStore, Member } from './conversation-store.js';
import { fromLong, longToNumber, toLong } from './long.js';

const IDEMPOTENT = { prepare: true, isIdempotent: true } as const;

function rowToConversation(row: Record<string, unknown>): Conversation {
  return {
    conversation_id: fromLong(row.conversation_id),
    kind: row.kind as Conversation['kind'],
    title: (row.title as string | null) ?? null,
    created_by: row.created_by as string,
    created_at: (row.created_at as Date).getTime(),
    epoch: row.epoch as string,
  };
}

export class CassandraConversationStore implements ConversationStore {
  constructor(private readonly db: CassandraClient) {}

  private async insertConversation(c: Conversation): Promise<void> {
    await this.db.execute(
      'INSERT INTO conversations (conversation_id, kind, title, created_by, created_at, epoch) VALUES (?, ?, ?, ?, ?, ?)',
      [toLong(c.conversation_id), c.kind, c.title, c.created_by, new Date(c.created_at), c.epoch],
      IDEMPOTENT,
    );
  }

  private async insertMembers(c: Conversation, members: Member[]): Promise<void> {
    const id = toLong(c.conversation_id);
    // Bounded concurrency keeps a 10,000-member group from opening 20,000 requests at once.
    for (let i = 0; i < members.length; i += 256) {
      await Promise.all(
        members
          .slice(i, i + 256)
          .flatMap((m) => [
            this.db.execute(
              'INSERT INTO conversation_members (conversation_id, user_id, role, joined_at, joined_seq) VALUES (?, ?, ?, ?, ?)',
              [id, m.user_id, m.role, new Date(m.joined_at), cassandra.types.Long.fromNumber(m.joined_seq)],
              IDEMPOTENT,
            ),
            this.db.execute(
              'INSERT INTO user_conversations (user_id, conversation_id, kind, joined_at) VALUES (?, ?, ?, ?)',
              [m.user_id, id, c.kind, new Date(m.joined_at)],
              IDEMPOTENT,
            ),
          ]),
      );
    }
  }

  async createGroup(conversationId: string, ownerId: string, title: string | null, memberIds: string[]): Promise<Conversation> {
    const now = Date.now();
    const c: Conversation = { conversation_id: conversationId, kind: 'group', title, created_by: ownerId, created_at: now, epoch: now.toString(36) };
    await this.insertConversation(c);
    const others = [...new Set(memberIds)].filter((u) => u !== ownerId);
    await this.insertMembers(c, [
      { user_id: ownerId, role: 'owner', joined_at: now, joined_seq: 0 },
      ...others.map((u) => ({ user_id: u, role: 'member' as const, joined_at: now, joined_seq: 0 })),
    ]);
    return c;
  }

  async getOrCreateDirect(newConversationId: string, userA: string, userB: string): Promise<{ conversation: Conversation; created: boolean }> {
    const [lo, hi] = userA < userB ? [userA, userB] : [userB, userA];
    const claim = await this.db.execute(
      'INSERT INTO direct_pairs (user_lo, user_hi, conversation_id) VALUES (?, ?, ?) IF NOT EXISTS',
      [lo, hi, toLong(newConversationId)],
      { prepare: true },
    );
    if (claim.wasApplied()) return { conversation: await this.writeDirect(newConversationId, lo, hi, userA), created: true };
    const conversationId = fromLong(claim.first()?.conversation_id);
    const existing = await this.get(conversationId);
    if (existing) return { conversation: existing, created: false };
    // The pair was claimed but its creator died before writing the rows: finish its work.
    return { conversation: await this.writeDirect(conversationId, lo, hi, userA), created: true };
  }

  private async writeDirect(conversationId: string, lo: string, hi: string, createdBy: string): Promise<Conversation> {
    const now = Date.now();
    const c: Conversation = { conversation_id: conversationId, kind: 'direct', title: null, created_by: createdBy, created_at: now, epoch: now.toString(36) };
    await this.insertConversation(c);
    await this.insertMembers(
      c,
      [lo, hi].map((u) => ({ user_id: u, role: 'member' as const, joined_at: now, joined_seq: 0 })),
    );
    return c;
  }

  async get(conversationId: string): Promise<Conversation | null> {
    const rs = await this.db.execute('SELECT * FROM conversations WHERE conversation_id = ?', [toLong(conversationId)], IDEMPOTENT);
    const row = rs.first();
    return row ? rowToConversation(row) : null;
  }

  async members(conversationId: string): Promise<Member[]> {
    const out: Member[] = [];
    // Iterating the result set pages through large groups transparently.
    const rows = await this.db.execute(
      'SELECT user_id, role, joined_at, joined_seq FROM conversation_members WHERE conversation_id = ?',
      [toLong(conversationId)],
      {
        ...IDEMPOTENT,
        fetchSize: 5000,
      },
    );
    for await (const row of rows) {
      out.push({
        user_id: row.user_id as string,
        role: row.role as Member['role'],
        joined_at: (row.joined_at as Date).getTime(),
        joined_seq: longToNumber(row.joined_seq),
      });
    }
    return out;
  }

  async addMembers(conversation: Conversation, userIds: string[], joinedSeq: number): Promise<void> {
    const now = Date.now();
    await this.insertMembers(
      conversation,
      userIds.map((u) => ({ user_id: u, role: 'member' as const, joined_at: now, joined_seq: joinedSeq })),
    );
  }

  async removeMember(conversation: Conversation, userId: string): Promise<void> {
    const id = toLong(conversation.conversation_id);
    await Promise.all([
      this.db.execute('DELETE FROM conversation_members WHERE conversation_id = ? AND user_id = ?', [id, userId], IDEMPOTENT),
      this.db.execute('DELETE FROM user_conversations WHERE user_id = ? AND conversation_id = ?', [userId, id], IDEMPOTENT),
    ]);
  }

  async listForUser(userId: string): Promise<string[]> {
    const rs = await this.db.execute('SELECT conversation_id FROM user_conversations WHERE user_id = ?', [userId], { ...IDEMPOTENT, fetchSize: 5000 });
    return rs.rows.map((r) => fromLong(r.conversation_id));
  }
}
