import type { ChatMessage, ReceiptFrame } from '@chat/protocol';

/** A conversation's positions as the SDK knows them. */
export interface ConversationReadState {
  /** Highest seq seen in the conversation. */
  lastSeq: number;
  /** The user's read position (from any of their devices). */
  readSeq: number;
}

/** One row of `GET /v1/conversation-list` (the fields the SDK keeps). */
export interface ListedConversation {
  conversation_id: string;
  last_seq: number;
  read_seq: number;
}

/**
 * Unread counts kept across the user's devices: the last seq of each conversation grows with its
 * messages, the read position with the user's receipts (from this device or another one) and the
 * user's own messages. Positions only move forward, so frames in any order give the same counts.
 */
export class ReadState {
  private readonly conversations = new Map<string, ConversationReadState>();

  constructor(private readonly onChange: (conversationId: string, unread: number) => void = () => undefined) {}

  /** Seeds or refreshes from the conversation list (e.g. at app start). */
  seed(rows: ListedConversation[]): void {
    for (const r of rows) this.update(r.conversation_id, r.last_seq, r.read_seq);
  }

  /** A message arrived; the user's own messages count as read. */
  onMessage(m: ChatMessage, selfUserId: string | undefined): void {
    this.update(m.conversation_id, m.seq, m.sender_id === selfUserId ? m.seq : 0);
  }

  /** A receipt; only the user's own (any device) moves their read position. */
  onReceipt(r: Pick<ReceiptFrame, 'conversation_id' | 'user_id' | 'seq'>, selfUserId: string | undefined): void {
    if (r.user_id === selfUserId) this.update(r.conversation_id, 0, r.seq);
  }

  unread(conversationId: string): number {
    const s = this.conversations.get(conversationId);
    return s ? Math.max(0, s.lastSeq - s.readSeq) : 0;
  }

  totalUnread(): number {
    let total = 0;
    for (const id of this.conversations.keys()) total += this.unread(id);
    return total;
  }

  get(conversationId: string): ConversationReadState | undefined {
    const s = this.conversations.get(conversationId);
    return s ? { ...s } : undefined;
  }

  private update(conversationId: string, lastSeq: number, readSeq: number): void {
    const s = this.conversations.get(conversationId) ?? { lastSeq: 0, readSeq: 0 };
    const before = Math.max(0, s.lastSeq - s.readSeq);
    s.lastSeq = Math.max(s.lastSeq, lastSeq, readSeq);
    s.readSeq = Math.max(s.readSeq, readSeq);
    this.conversations.set(conversationId, s);
    const after = Math.max(0, s.lastSeq - s.readSeq);
    if (after !== before) this.onChange(conversationId, after);
  }
}
