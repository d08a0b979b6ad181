import type { ChatMessage } from '@chat/protocol';
import type { InboxKey } from './inbox-cursor.js';

/** One entry of a user's inbox: a message of a conversation fanned out on write. */
export interface InboxEntry {
  /** When the inbox writer stamped the entry (ms); entries are read in (entry_ts, conversation_id, seq) order. */
  entry_ts: number;
  conversation_id: string;
  seq: number;
  message_id: string;
  /** The message as written on fanout; absent on rows written before the message was stored with them. */
  message?: ChatMessage;
}

/** The inbox writer's progress on one conversation. */
export interface FanoutProgress {
  /** Every seq up to this one is in every member's inbox. */
  fannedSeq: number;
  /** A fanout that was started and may be incomplete: finish it with the same stamp. */
  pending?: { from: number; to: number; ts: number };
}

/**
 * Per-user inboxes (fanout on write); each row carries its message, so reading an inbox reads
 * nothing per conversation. Contract: rows are keyed by (user, day of entry_ts,
 * entry_ts, conversation, seq), so writing the same entries again with the same stamp changes
 * nothing (replays are idempotent); a conversation's fanout is announced (`begin`) before its rows
 * are written and confirmed (`finish`) after, so a replay after a crash reuses the stamp.
 */
export interface InboxStore {
  progress(conversationId: string): Promise<FanoutProgress>;
  begin(conversationId: string, from: number, to: number, ts: number): Promise<void>;
  /** One row per (user, message), all stamped `ts`. */
  append(userIds: Iterable<string>, messages: ChatMessage[], ts: number): Promise<number>;
  finish(conversationId: string, fannedSeq: number): Promise<void>;
  /**
   * Entries after `after` (a stamp: entry_ts > it; a key: strictly after it in inbox order) with
   * entry_ts <= untilTs, in inbox order, at most `limit`.
   */
  readSince(userId: string, after: number | InboxKey, untilTs: number, limit: number): Promise<InboxEntry[]>;
}

/** Inbox partitions hold one user's entries of one UTC day. */
export const DAY_MS = 86_400_000;
export const dayOf = (ts: number) => Math.floor(ts / DAY_MS);
