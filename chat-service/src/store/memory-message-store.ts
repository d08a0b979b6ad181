import type { ChatMessage } from '@chat/protocol';
import type { MessageStore } from './message-store.js';
import { MemorySequencedSendStore } from './memory-sequenced-send-store.js';
import type { SequencedSend } from './sequenced-send-store.js';

/** In-process MessageStore with the same contract as the Cassandra one (tests, tools). */
export class MemoryMessageStore implements MessageStore {
  private readonly messages = new Map<string, Map<number, { message: ChatMessage; timestamp: bigint }>>();
  /** The deduplication rows `append` stores with their messages. */
  readonly sends = new MemorySequencedSendStore();

  async append(conversationId: string, messages: ChatMessage[], timestamp: bigint, sends: readonly SequencedSend[] = []): Promise<void> {
    this.sends.record(sends, timestamp);
    const conv = this.messages.get(conversationId) ?? new Map<number, { message: ChatMessage; timestamp: bigint }>();
    for (const m of messages) {
      const existing = conv.get(m.seq);
      // Last write wins by timestamp, as in Cassandra.
      if (!existing || existing.timestamp <= timestamp) conv.set(m.seq, { message: { ...m }, timestamp });
    }
    this.messages.set(conversationId, conv);
  }

  private sorted(conversationId: string): ChatMessage[] {
    return [...(this.messages.get(conversationId)?.values() ?? [])].map((e) => e.message).sort((a, b) => a.seq - b.seq);
  }

  async lastSeq(conversationId: string): Promise<number> {
    return this.sorted(conversationId).at(-1)?.seq ?? 0;
  }

  async messageIdAt(conversationId: string, seq: number): Promise<string | null> {
    return this.messages.get(conversationId)?.get(seq)?.message.message_id ?? null;
  }

  async lastSeqs(conversationIds: string[]): Promise<Map<string, number>> {
    return new Map(await Promise.all(conversationIds.map(async (id) => [id, await this.lastSeq(id)] as const)));
  }

  async readAfter(conversationId: string, afterSeq: number, untilSeq: number, limit: number): Promise<ChatMessage[]> {
    return this.sorted(conversationId)
      .filter((m) => m.seq > afterSeq && m.seq <= untilSeq)
      .slice(0, limit);
  }

  async lastSeqCarrying(attachmentId: string): Promise<number> {
    let last = 0;
    for (const conv of this.messages.values()) {
      for (const { message } of conv.values()) {
        if (message.seq > last && message.attachments?.some((a) => a.attachment_id === attachmentId)) last = message.seq;
      }
    }
    return last;
  }

  async readBefore(conversationId: string, beforeSeq: number, limit: number): Promise<ChatMessage[]> {
    return this.sorted(conversationId)
      .filter((m) => m.seq < beforeSeq)
      .slice(-limit);
  }
}
