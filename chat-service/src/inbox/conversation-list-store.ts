import type { ChatMessage } from '@chat/protocol';

/** A user's row for one conversation, kept on write for conversations fanned out on write. */
export interface ConversationListRow {
  conversation_id: string;
  /** created_at of the last message (ms); 0 when no message was recorded. */
  last_activity: number;
  last_seq: number;
  last_message_id: string | null;
  preview: string | null;
  preview_sender: string | null;
  muted: boolean;
}

/**
 * Conversation list rows per user. Contract: `recordLast` never moves a row back to an older
 * message (cells are written with the message's seq as write timestamp), so replays and
 * reordered writes leave the newest message in place. Large conversations have no rows of
 * their own (only `muted` when set): their activity is merged in at read time.
 */
export interface ConversationListStore {
  /** Records `message` as the latest of its conversation for each of `userIds`. */
  recordLast(userIds: Iterable<string>, message: ChatMessage): Promise<number>;
  rows(userId: string): Promise<ConversationListRow[]>;
}

/** Longest preview stored (UTF-16 units); the full body is in history. */
export const PREVIEW_MAX_CHARS = 140;
