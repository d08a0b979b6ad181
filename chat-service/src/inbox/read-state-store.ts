/**
 * A user's read position and mute setting per conversation.
 *
 * Contract: `markRead` is monotonic: a position never moves back, whatever order concurrent
 * writes (two devices, a retry) arrive in; the highest seq ever written wins. Positions are seqs
 * of the conversation's current epoch. A conversation never read reads as 0; never muted as false.
 */
export interface ReadStateStore {
  markRead(userId: string, conversationId: string, seq: number): Promise<void>;
  /** Marks several users' positions at once (the sender of a message, members added at a seq). */
  markReadMany(entries: { userId: string; conversationId: string; seq: number }[]): Promise<void>;
  readSeq(userId: string, conversationId: string): Promise<number>;
  /** Every read position of the user (conversations never read are absent). */
  readSeqs(userId: string): Promise<Map<string, number>>;
  /** Every user's read position in a conversation, members or not (users who never read are absent). */
  positionsIn(conversationId: string): Promise<Map<string, number>>;
  setMuted(userId: string, conversationId: string, muted: boolean): Promise<void>;
  isMuted(userId: string, conversationId: string): Promise<boolean>;
  /** The conversations the user muted. */
  mutedConversations(userId: string): Promise<Set<string>>;
}
