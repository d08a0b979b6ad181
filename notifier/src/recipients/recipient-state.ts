/** What the notifier needs of a user's read state in one conversation. */
export interface RecipientState {
  /** Highest seq the user has read in the conversation (0: nothing). */
  readSeq: number;
  muted: boolean;
  /** The user's unread messages over all conversations, for the badge; null when not known. */
  totalUnread: number | null;
}

export interface RecipientStateLookup {
  get(userId: string, conversationId: string, epoch: string): Promise<RecipientState>;
}

/**
 * Used until read state and mute are stored: nobody has read anything, nothing is muted, the
 * badge is the push's own count.
 */
export class NoReadState implements RecipientStateLookup {
  async get(): Promise<RecipientState> {
    return { readSeq: 0, muted: false, totalUnread: null };
  }
}
