import type { ChatMessage, MessageRecord } from '@chat/shared';
import type { MessageStore } from '../store/message-store.js';

/** An error that retrying later may fix (storage down, lost a claim race). */
export class RetriableError extends Error {
  override name = 'RetriableError';
}

/** A record that can never be sequenced (e.g. its conversation does not exist): dead-letter it. */
export class PoisonRecordError extends Error {
  override name = 'PoisonRecordError';
}

/** How many recent messages per conversation are remembered to recognise duplicates and replays. */
const WINDOW = 512;
const MAX_CLAIM_ATTEMPTS = 5;

interface ConversationState {
  lastSeq: number;
  seqByMessageId: Map<string, number>;
  /** `${sender}\n${client_msg_id}` → message_id, to drop a resend that got a new message_id. */
  messageIdByClientKey: Map<string, string>;
  /** Messages this process wrote and delivered: a second copy of one (a duplicate produce) is dropped. */
  settled: Set<string>;
}

function clientKey(r: { sender_id: string; client_msg_id: string }): string {
  return `${r.sender_id}\n${r.client_msg_id}`;
}

function remember(state: ConversationState, m: ChatMessage, settled: boolean): void {
  state.seqByMessageId.set(m.message_id, m.seq);
  state.messageIdByClientKey.set(clientKey(m), m.message_id);
  if (settled) state.settled.add(m.message_id);
  for (const set of [state.seqByMessageId, state.messageIdByClientKey, state.settled]) {
    while (set.size > WINDOW) set.delete(set.keys().next().value as string);
  }
}

/**
 * Assigns the dense per-conversation seq (G3) in Kafka order and persists the messages.
 *
 * Kafka keys records by conversation, so one partition — one consumer — sees a conversation's
 * records in a fixed order. Seqs come from Cassandra (conversation_seq) through a compare-and-set
 * claim, never from Redis, so losing Redis data cannot reuse a seq, and a second consumer (during a
 * rebalance) loses the claim instead of duplicating seqs. A replayed record (consumer restarted
 * before committing) is recognised by its message_id and keeps the seq it was given.
 */
export class Sequencer {
  private readonly states = new Map<string, ConversationState>();

  constructor(
    private readonly store: MessageStore,
    private readonly epochOf: (conversationId: string) => Promise<string | null>,
    private readonly maxConversations = 50_000,
  ) {}

  /**
   * Sequences and persists records (any mix of conversations). Returns the messages in seq order
   * per conversation, and the records that can never be sequenced. Throws only retriable errors.
   */
  async process(records: MessageRecord[]): Promise<{ messages: ChatMessage[]; poisoned: { record: MessageRecord; reason: string }[] }> {
    const byConversation = new Map<string, MessageRecord[]>();
    for (const r of records) byConversation.set(r.conversation_id, [...(byConversation.get(r.conversation_id) ?? []), r]);
    const messages: ChatMessage[] = [];
    const poisoned: { record: MessageRecord; reason: string }[] = [];
    await Promise.all(
      [...byConversation].map(async ([cid, recs]) => {
        try {
          messages.push(...(await this.processConversation(cid, recs)));
        } catch (err) {
          if (!(err instanceof PoisonRecordError)) throw err;
          poisoned.push(...recs.map((record) => ({ record, reason: err.message })));
        }
      }),
    );
    return { messages, poisoned };
  }

  private async processConversation(conversationId: string, records: MessageRecord[]): Promise<ChatMessage[]> {
    const epoch = await this.epochOf(conversationId);
    if (epoch === null) throw new PoisonRecordError(`conversation ${conversationId} does not exist`);
    for (let attempt = 1; ; attempt++) {
      const state = await this.state(conversationId);
      const known: ChatMessage[] = [];
      const fresh: MessageRecord[] = [];
      const freshIds = new Set<string>();
      for (const r of records) {
        const seq = state.seqByMessageId.get(r.message_id);
        if (state.settled.has(r.message_id)) continue;
        // Known but not settled here: a replay after a restart or a failed write; write and deliver again.
        if (seq !== undefined) known.push(toMessage(r, seq, epoch));
        else if (!state.messageIdByClientKey.has(clientKey(r)) && !freshIds.has(r.message_id)) {
          freshIds.add(r.message_id);
          fresh.push(r);
        }
      }
      if (fresh.length > 0) {
        const claimed = await this.store.claim({ conversationId, expectedLastSeq: state.lastSeq, messageIds: fresh.map((r) => r.message_id) });
        if (!claimed) {
          this.states.delete(conversationId); // someone else advanced it: reload and look again
          if (attempt >= MAX_CLAIM_ATTEMPTS) throw new RetriableError(`lost the seq claim of ${conversationId} ${attempt} times`);
          continue;
        }
      }
      const assigned = fresh.map((r, i) => toMessage(r, state.lastSeq + 1 + i, epoch));
      state.lastSeq += fresh.length;
      const messages = [...known, ...assigned].sort((a, b) => a.seq - b.seq);
      try {
        await this.store.write(messages);
      } catch (err) {
        // The claim stands (pending ids are recorded with it); a retry re-derives the same seqs.
        this.states.delete(conversationId);
        throw new RetriableError(`writing messages failed: ${(err as Error).message}`);
      }
      for (const m of messages) remember(state, m, true);
      return messages;
    }
  }

  private async state(conversationId: string): Promise<ConversationState> {
    const cached = this.states.get(conversationId);
    if (cached) return cached;
    const seq = await this.store.seqState(conversationId);
    const state: ConversationState = { lastSeq: seq.lastSeq, seqByMessageId: new Map(), messageIdByClientKey: new Map(), settled: new Set() };
    const recent = await this.store.readAfter(conversationId, Math.max(0, seq.lastSeq - WINDOW), seq.lastSeq, WINDOW);
    for (const m of recent) remember(state, m, false);
    // The last claim may not have been written (crash between claim and write): its ids keep their seqs.
    seq.pendingMessageIds.forEach((id, i) => state.seqByMessageId.set(id, seq.pendingFirstSeq + i));
    if (this.states.size >= this.maxConversations) this.states.delete(this.states.keys().next().value as string);
    this.states.set(conversationId, state);
    return state;
  }
}

function toMessage(r: MessageRecord, seq: number, epoch: string): ChatMessage {
  return {
    conversation_id: r.conversation_id,
    message_id: r.message_id,
    seq,
    epoch,
    sender_id: r.sender_id,
    client_msg_id: r.client_msg_id,
    body: r.body,
    created_at: r.created_at,
  };
}
