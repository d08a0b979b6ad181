/** A conversation as the API shows it. Ids are decimal strings of 64-bit Snowflake ids. */
export interface Conversation {
  conversation_id: string;
  kind: 'direct' | 'group';
  title: string | null;
  created_by: string;
  created_at: number;
  /** The sequence lineage; seqs are only comparable within one epoch. */
  epoch: string;
}

export interface Member {
  user_id: string;
  role: 'owner' | 'member';
  joined_at: number;
  /** The join point: the last seq when the member was added (0: a founding member). The member reads only later messages. */
  joined_seq: number;
}

/**
 * Conversations and their members. Membership is the authorization boundary of every action:
 * callers check `members()` (through MembershipCache) before reading or writing a conversation.
 */
export interface ConversationStore {
  /** Creates a group owned by `ownerId` with `memberIds` (owner included automatically). */
  createGroup(conversationId: string, ownerId: string, title: string | null, memberIds: string[]): Promise<Conversation>;
  /** Returns the one direct conversation of the pair, creating it on first use (race-safe). */
  getOrCreateDirect(newConversationId: string, userA: string, userB: string): Promise<{ conversation: Conversation; created: boolean }>;
  get(conversationId: string): Promise<Conversation | null>;
  members(conversationId: string): Promise<Member[]>;
  /** Adds members whose join point is `joinedSeq` (the conversation's last seq as the caller read it before adding). */
  addMembers(conversation: Conversation, userIds: string[], joinedSeq: number): Promise<void>;
  removeMember(conversation: Conversation, userId: string): Promise<void>;
  /** Conversation ids the user belongs to. */
  listForUser(userId: string): Promise<string[]>;
}
