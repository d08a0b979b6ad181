import { ChatError, Errors, type SnowflakeIds } from '@chat/shared';
import type { Conversation, ConversationStore, Member } from '../store/conversation-store.js';
import type { MembershipCache } from '../store/membership-cache.js';
import type { MessageStore } from '../store/message-store.js';

export interface ConversationSummary extends Conversation {
  last_seq: number;
}

/** Conversation lifecycle with authorization: only members see a conversation; only owners add others. */
export class ConversationService {
  constructor(
    private readonly store: ConversationStore,
    private readonly membership: MembershipCache,
    private readonly messages: MessageStore,
    private readonly ids: SnowflakeIds,
    private readonly maxGroupMembers: number,
  ) {}

  async createDirect(userId: string, otherId: string): Promise<{ conversation: Conversation; created: boolean }> {
    if (otherId === userId) throw new ChatError(Errors.INVALID_SHAPE, 'a direct conversation needs another user');
    return this.store.getOrCreateDirect(this.ids.next(), userId, otherId);
  }

  async createGroup(userId: string, title: string | null, memberIds: string[]): Promise<Conversation> {
    const members = new Set([userId, ...memberIds]);
    if (members.size > this.maxGroupMembers) throw new ChatError(Errors.CONFLICT, `a group has at most ${this.maxGroupMembers} members`);
    return this.store.createGroup(this.ids.next(), userId, title, [...members]);
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
    await this.store.addMembers(conversation, added);
    await this.membership.invalidate(conversationId);
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
