import type { ChatMessage } from '@chat/shared';
import type { MessageStore, SeqClaim, SeqState } from './message-store.js';

/** In-process MessageStore with the same contract as the Cassandra one (tests, single-node tools). */
export class MemoryMessageStore implements MessageStore {
  private readonly seqs = new Map<string, SeqState>();
  private readonly messages = new Map<string, Map<number, ChatMessage>>();

  async seqState(conversationId: string): Promise<SeqState> {
    const s = this.seqs.get(conversationId);
    return s ? { ...s, pendingMessageIds: [...s.pendingMessageIds] } : { lastSeq: 0, pendingFirstSeq: 0, pendingMessageIds: [] };
  }

  async claim({ conversationId, expectedLastSeq, messageIds }: SeqClaim): Promise<boolean> {
    if ((this.seqs.get(conversationId)?.lastSeq ?? 0) !== expectedLastSeq) return false;
    this.seqs.set(conversationId, { lastSeq: expectedLastSeq + messageIds.length, pendingFirstSeq: expectedLastSeq + 1, pendingMessageIds: [...messageIds] });
    return true;
  }

  async write(messages: ChatMessage[]): Promise<void> {
    for (const m of messages) {
      const conv = this.messages.get(m.conversation_id) ?? new Map<number, ChatMessage>();
      conv.set(m.seq, { ...m });
      this.messages.set(m.conversation_id, conv);
    }
  }

  private sorted(conversationId: string): ChatMessage[] {
    return [...(this.messages.get(conversationId)?.values() ?? [])].sort((a, b) => a.seq - b.seq);
  }

  async readAfter(conversationId: string, afterSeq: number, untilSeq: number, limit: number): Promise<ChatMessage[]> {
    return this.sorted(conversationId)
      .filter((m) => m.seq > afterSeq && m.seq <= untilSeq)
      .slice(0, limit);
  }

  async readBefore(conversationId: string, beforeSeq: number, limit: number): Promise<ChatMessage[]> {
    return this.sorted(conversationId)
      .filter((m) => m.seq < beforeSeq)
      .slice(-limit);
  }

  async lastSeqs(conversationIds: string[]): Promise<Map<string, number>> {
    return new Map(conversationIds.map((id) => [id, this.seqs.get(id)?.lastSeq ?? 0]));
  }
}
