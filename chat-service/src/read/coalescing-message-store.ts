import type { ChatMessage } from '@chat/protocol';
import type { MessageStore } from '../store/message-store.js';
import type { SequencedSend } from '../store/sequenced-send-store.js';

export interface CoalescingOptions {
  /** How long an identical range read is served from memory. @default 2000 */
  rangeTtlMs?: number;
  /** Approximate bytes of cached ranges (LRU beyond it). @default 32 MiB */
  maxRangeBytes?: number;
}

/** Rough heap cost of one cached message besides its body. */
const MESSAGE_OVERHEAD_BYTES = 200;

interface LastSeqReads {
  running: Promise<number> | null;
  queued: Promise<number> | null;
}

interface CachedRange {
  messages: Promise<ChatMessage[]>;
  expiresAt: number;
  bytes: number;
}

/**
 * The read path's view of a MessageStore, sharing work between concurrent readers of one
 * conversation: a reconnect storm sends thousands of `sync`s for the same conversations within
 * seconds, and each would otherwise cost the same storage reads.
 *
 * - `lastSeq`: a caller never joins a read that started before it asked. Callers that arrive while
 *   a read is in flight wait for the next one, which starts after all of them arrived; so every
 *   caller still sees every message stored before it asked (resume relies on that, G4).
 * - `readAfter` / `readBefore`: callers ask only for ranges at or below a last seq they read, and
 *   stored messages there never change, so identical ranges share one read and a short-lived
 *   cache bounded by bytes.
 * Writes go straight through.
 */
export class CoalescingMessageStore implements MessageStore {
  private readonly lastSeqReads = new Map<string, LastSeqReads>();
  private readonly ranges = new Map<string, CachedRange>();
  private rangeBytes = 0;
  private readonly opts: Required<CoalescingOptions>;

  constructor(
    private readonly inner: MessageStore,
    options: CoalescingOptions = {},
    private readonly now: () => number = Date.now,
  ) {
    this.opts = { rangeTtlMs: 2000, maxRangeBytes: 32 * 2 ** 20, ...options };
  }

  append(conversationId: string, messages: ChatMessage[], timestamp: bigint, sends?: readonly SequencedSend[]): Promise<void> {
    return this.inner.append(conversationId, messages, timestamp, sends);
  }

  lastSeq(conversationId: string): Promise<number> {
    let reads = this.lastSeqReads.get(conversationId);
    if (!reads) this.lastSeqReads.set(conversationId, (reads = { running: null, queued: null }));
    if (reads.running === null) return (reads.running = this.readLastSeq(conversationId, reads));
    const entry = reads;
    const running = reads.running;
    entry.queued ??= running.then(noop, noop).then(() => {
      entry.queued = null;
      return (entry.running = this.readLastSeq(conversationId, entry));
    });
    return entry.queued;
  }

  private readLastSeq(conversationId: string, reads: LastSeqReads): Promise<number> {
    const read: Promise<number> = this.inner.lastSeq(conversationId).finally(() => {
      if (reads.running === read) reads.running = null;
      if (reads.running === null && reads.queued === null) this.lastSeqReads.delete(conversationId);
    });
    return read;
  }

  messageIdAt(conversationId: string, seq: number): Promise<string | null> {
    return this.inner.messageIdAt(conversationId, seq);
  }

  lastSeqCarrying(attachmentId: string): Promise<number> {
    return this.inner.lastSeqCarrying(attachmentId);
  }

  async lastSeqs(conversationIds: string[]): Promise<Map<string, number>> {
    return new Map(await Promise.all(conversationIds.map(async (cid) => [cid, await this.lastSeq(cid)] as const)));
  }

  readAfter(conversationId: string, afterSeq: number, untilSeq: number, limit: number): Promise<ChatMessage[]> {
    return this.range(`${conversationId}>${afterSeq}<=${untilSeq}#${limit}`, () => this.inner.readAfter(conversationId, afterSeq, untilSeq, limit));
  }

  readBefore(conversationId: string, beforeSeq: number, limit: number): Promise<ChatMessage[]> {
    return this.range(`${conversationId}<${beforeSeq}#${limit}`, () => this.inner.readBefore(conversationId, beforeSeq, limit));
  }

  private range(key: string, read: () => Promise<ChatMessage[]>): Promise<ChatMessage[]> {
    const now = this.now();
    const hit = this.ranges.get(key);
    if (hit && hit.expiresAt > now) {
      // Re-insert: the Map's order is the LRU order.
      this.ranges.delete(key);
      this.ranges.set(key, hit);
      return hit.messages;
    }
    if (hit) this.forget(key, hit);
    const entry: CachedRange = { messages: read(), expiresAt: now + this.opts.rangeTtlMs, bytes: 0 };
    this.ranges.set(key, entry);
    entry.messages.then(
      (messages) => {
        if (this.ranges.get(key) !== entry) return;
        entry.bytes = messages.reduce((n, m) => n + MESSAGE_OVERHEAD_BYTES + m.body.length * 2, 0);
        this.rangeBytes += entry.bytes;
        this.evictOverBudget();
      },
      () => {
        if (this.ranges.get(key) === entry) this.ranges.delete(key); // a failed read is not cached
      },
    );
    return entry.messages;
  }

  private forget(key: string, entry: CachedRange): void {
    this.ranges.delete(key);
    this.rangeBytes -= entry.bytes;
  }

  private evictOverBudget(): void {
    const now = this.now();
    for (const [key, entry] of this.ranges) {
      if (this.rangeBytes <= this.opts.maxRangeBytes && entry.expiresAt > now) break;
      this.forget(key, entry);
    }
  }
}

function noop(): void {}
