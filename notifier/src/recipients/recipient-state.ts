/** What the notifier needs of a user's state in one conversation before it pushes. */
export interface RecipientState {
  /** Highest seq the user has read in the conversation on any device (0: nothing). */
  readSeq: number;
  muted: boolean;
  /** False once the user left the conversation or was removed from it. */
  member: boolean;
  /** The user's unread messages over all conversations (the badge). */
  totalUnread: number;
}

export interface RecipientKey {
  userId: string;
  conversationId: string;
}

/**
 * Read state, mute, membership and badge of recipients. Contract: one state per key, in the
 * keys' order, at least as fresh as every read position and mute stored before the call began;
 * rejects when any state cannot be read (the caller then decides later, never pushes blind).
 */
export interface RecipientStateLookup {
  states(keys: readonly RecipientKey[]): Promise<RecipientState[]>;
}
