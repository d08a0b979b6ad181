import type { ChatMessage } from '@chat/shared';

/** Sequencer state of one conversation (see the conversation_seq table). */
export interface SeqState {
  lastSeq: number;
  /** The last claimed range: message ids in seq order from pendingFirstSeq. */
  pendingFirstSeq: number;
  pendingMessageIds: string[];
}

/** A claim of seqs `expected.lastSeq+1 ..` for `messageIds`, in that order. */
export interface SeqClaim {
  conversationId: string;
  expectedLastSeq: number;
  messageIds: string[];
}

/**
 * Durable messages and per-conversation sequence state.
 * `claim` is compare-and-set: it succeeds only if last_seq is still `expectedLastSeq`, so no two
 * writers ever hand out the same seq. Message writes are idempotent (same key, same content).
 */
export interface MessageStore {
  seqState(conversationId: string): Promise<SeqState>;
  claim(claim: SeqClaim): Promise<boolean>;
  write(messages: ChatMessage[]): Promise<void>;
  /** Messages with seq in (afterSeq, untilSeq], ascending, at most `limit`. */
  readAfter(conversationId: string, afterSeq: number, untilSeq: number, limit: number): Promise<ChatMessage[]>;
  /** The `limit` messages just below `beforeSeq`, returned ascending. */
  readBefore(conversationId: string, beforeSeq: number, limit: number): Promise<ChatMessage[]>;
  /** last_seq of many conversations (0 for those without messages). */
  lastSeqs(conversationIds: string[]): Promise<Map<string, number>>;
}

/** Messages are stored in partitions of BUCKET_SIZE consecutive seqs. */
export const BUCKET_SIZE = 1024;

export function bucketOf(seq: number): number {
  return Math.floor(seq / BUCKET_SIZE);
}
