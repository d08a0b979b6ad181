import { ChatError, Errors, rateLimited } from '@chat/protocol';
import type { ReadStateStore } from '../inbox/read-state-store.js';
import type { SnowflakeIds } from '@chat/server/ids';
import type { RateLimiter } from '@chat/server/rate-limit';
import type { Conversation, ConversationStore, Member } from '../store/conversation-store.js';
import type { MembershipCache } from '../store/membership-cache.js';
import type { MessageStore } from '../store/message-store.js';

export interface ConversationSummary extends Conversation {
  last_seq: number;
}

/** What conversation writes cost a user (per-user windows, shared by all chat-service processes). */
export interface ConversationLimits {
  /** Conversations created, direct or group (RATE_CONVERSATIONS_PER_USER). */
  creations: RateLimiter;
  /** Member entries written: a group's members, members added, 2 per direct (RATE_MEMBER_WRITES_PER_USER). */
  memberWrites: RateLimiter;
}

/**
 * Conversation lifecycle with authorization: only members see a conversation; only owners add
 * others. Writes are cost-bounded per user: one request writes at most `maxGroupMembers` members,
 * and creations and member writes per window are limited (RATE_LIMITED with a retry-after hint).
 */
export class ConversationService {
  constructor(
    private readonly store: ConversationStore,
    private readonly membership: MembershipCache,
    private readonly messages: MessageStore,
    private readonly ids: SnowflakeIds,
    private readonly maxGroupMembers: number,
    private readonly limits: ConversationLimits,
    /** Read positions: added members start at the conversation's last seq. None: not recorded. */
    private readonly joined?: Pick<ReadStateStore, 'markReadMany'>,
  ) {}

  async createDirect(userId: string, otherId: string): Promise<{ conversation: Conversation; created: boolean }> {
    if (otherId === userId) throw new ChatError(Errors.INVALID_SHAPE, 'a direct conversation needs another user');
    await this.charge(userId, 2, true);
    const result = await this.store.getOrCreateDirect(this.ids.next(), userId, otherId);
    if (result.created) await this.membership.invalidate(result.conversation.conversation_id);
    return result;
  }

  async createGroup(userId: string, title: string | null, memberIds: string[]): Promise<Conversation> {
    const members = new Set([userId, ...memberIds]);
    if (members.size > this.maxGroupMembers) throw new ChatError(Errors.CONFLICT, `a group has at most ${this.maxGroupMembers} members`);
    await this.charge(userId, members.size, true);
    const conversation = await this.store.createGroup(this.ids.next(), userId, title, [...members]);
    await this.membership.invalidate(conversation.conversation_id); // clears a remembered "no such conversation"
    return conversation;
  }

  /** Takes `memberWrites` member entries (and a creation) from the user's budgets, or throws RATE_LIMITED. */
  private async charge(userId: string, memberWrites: number, creation: boolean): Promise<void> {
    if (creation) {
      const wait = await this.limits.creations.consume(userId);
      if (wait > 0) throw rateLimited(wait, 'too many conversations created by this user');
    }
    const wait = await this.limits.memberWrites.consume(userId, memberWrites);
    if (wait > 0) throw rateLimited(wait, 'too many members written by this user');
  }

  async get(userId: string, conversationId: string): Promise<{ conversation: Conversation; members: Member[] }> {
    const entry = await this.membership.get(conversationId);
    if (!entry || !entry.members.has(userId)) throw new ChatError(Errors.NOT_MEMBER);
    return { conversation: entry.conversation, members: await this.store.members(conversationId) };
  }

  async addMembers(userId: string, conversationId: string, userIds: string[]): Promise<void> {
    const { conversation, members } = await this.get(userId, conversationId);
    if (conversation.kind === 'direct') throw new ChatError(Errors.CONFLICT, 'members of a direct conversation are fixed');
    if (members.find((m) => m.user_id === userId)?.role !== 'owner') throw new ChatError(Errors.FORBIDDEN, 'only the owner adds members');
    const current = new Set(members.map((m) => m.user_id));
    const added = [...new Set(userIds)].filter((u) => !current.has(u));
    if (current.size + added.length > this.maxGroupMembers) throw new ChatError(Errors.CONFLICT, `a group has at most ${this.maxGroupMembers} members`);
    if (added.length === 0) return;
    await this.charge(userId, added.length, false);
    // The join point, read before the members exist: a message sequenced meanwhile is after it, so
    // the new members can read it (nothing between the join point and their first real-time message is lost).
    const joinedSeq = await this.messages.lastSeq(conversationId);
    await this.store.addMembers(conversation, added, joinedSeq);
    await this.membership.invalidate(conversationId);
    // What was sent before counts as read for the new members (unread starts at 0).
    if (this.joined) await this.joined.markReadMany(added.map((u) => ({ userId: u, conversationId, seq: joinedSeq })));
  }

  /** The owner removes anyone; a member removes only themself (leave). */
  async removeMember(userId: string, conversationId: string, targetId: string): Promise<void> {
    const { conversation, members } = await this.get(userId, conversationId);
    if (conversation.kind === 'direct') throw new ChatError(Errors.CONFLICT, 'members of a direct conversation are fixed');
    const isOwner = members.find((m) => m.user_id === userId)?.role === 'owner';
    if (targetId !== userId && !isOwner) throw new ChatError(Errors.FORBIDDEN, 'only the owner removes other members');
    if (!members.some((m) => m.user_id === targetId)) throw new ChatError(Errors.NOT_FOUND, 'not a member');
    await this.store.removeMember(conversation, targetId);
    await this.membership.invalidate(conversationId);
  }

  async listMine(userId: string): Promise<ConversationSummary[]> {
    const ids = await this.store.listForUser(userId);
    const [lastSeqs, conversations] = await Promise.all([this.messages.lastSeqs(ids), Promise.all(ids.map((id) => this.membership.get(id)))]);
    return conversations
      .filter((e): e is NonNullable<typeof e> => e !== null)
      .map((e) => ({ ...e.conversation, last_seq: lastSeqs.get(e.conversation.conversation_id) ?? 0 }));
  }
}
