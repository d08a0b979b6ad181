import type { ChatMessage } from '@chat/protocol';
import type { SequencedSend } from './sequenced-send-store.js';

/**
 * Durable messages, stored in partitions of BUCKET_SIZE consecutive seqs.
 *
 * Contract: `append` writes a conversation's messages (consecutive seqs, ascending) so that after
 * any crash the stored seqs of a conversation are still gap-free from 1: each bucket's share is
 * one atomic single-partition batch, buckets are written in order, and the conversation's
 * highest bucket is recorded before its first message is written. `lastSeq` is therefore always
 * the highest stored seq. `sends` are the messages' deduplication rows (SequencedSendStore): each
 * is stored atomically with its message. Writes are idempotent (same key, same content) and carry
 * `timestamp`.
 */
export interface MessageStore {
  /** Drops any per-conversation cache (the sequencer's state for it went away). @default no-op */
  forgetConversation?(conversationId: string): void;
  append(conversationId: string, messages: ChatMessage[], timestamp: bigint, sends?: readonly SequencedSend[]): Promise<void>;
  /** Highest stored seq (0 for none). */
  lastSeq(conversationId: string): Promise<number>;
  lastSeqs(conversationIds: string[]): Promise<Map<string, number>>;
  /** The message_id stored at `seq`, or null when nothing is stored there. */
  messageIdAt(conversationId: string, seq: number): Promise<string | null>;
  /** Messages with seq in (afterSeq, untilSeq], ascending, at most `limit`. */
  readAfter(conversationId: string, afterSeq: number, untilSeq: number, limit: number): Promise<ChatMessage[]>;
  /** The `limit` messages just below `beforeSeq`, returned ascending. */
  readBefore(conversationId: string, beforeSeq: number, limit: number): Promise<ChatMessage[]>;
  /**
   * Highest seq of a stored message carrying the attachment (0: none). `append` records a message's
   * attachments before the message itself, so a stored message is always found.
   */
  lastSeqCarrying(attachmentId: string): Promise<number>;
}

/** Messages are stored in partitions of BUCKET_SIZE consecutive seqs. */
export const BUCKET_SIZE = 1024;

export function bucketOf(seq: number): number {
  return Math.floor(seq / BUCKET_SIZE);
}

/** Splits ascending messages into runs of the same bucket, in order. */
export function byBucket(messages: ChatMessage[]): ChatMessage[][] {
  const runs: ChatMessage[][] = [];
  for (const m of messages) {
    const last = runs.at(-1);
    if (last && bucketOf(last[0]!.seq) === bucketOf(m.seq)) last.push(m);
    else runs.push([m]);
  }
  return runs;
}
