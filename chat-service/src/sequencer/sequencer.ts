import { pushTo, type ChatMessage, type MessageRecord } from '@chat/shared';
import { fencedTimestamp, type MessageStore } from '../store/message-store.js';

/** An error that retrying later may fix (storage down). */
export class RetriableError extends Error {
  override name = 'RetriableError';
}

/** A record that can never be sequenced (e.g. its conversation does not exist): dead-letter it. */
export class PoisonRecordError extends Error {
  override name = 'PoisonRecordError';
}

/**
 * Recent messages remembered per conversation to recognise replays and duplicates. It must exceed
 * the records of one conversation that can be replayed, i.e. one uncommitted chunk (MAX_CHUNK).
 */
export const WINDOW = 2048;
/** Largest number of records sequenced before offsets are committed. */
export const MAX_CHUNK = 1000;

interface ConversationState {
  lastSeq: number;
  seqByMessageId: Map<string, number>;
  /** `${sender}\n${client_msg_id}` → message_id, to drop a resend that got a new message_id. */
  messageIdByClientKey: Map<string, string>;
  /** Messages this sequencer wrote and delivered: a second copy of one (a duplicate produce) is dropped. */
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
 * Assigns the dense per-conversation seq (G3) in Kafka order and persists the messages, for the
 * conversations of ONE partition under ONE lease generation (a new generation gets a new
 * Sequencer, so no state survives a change of ownership).
 *
 * Kafka keys records by conversation, so the partition's owner sees a conversation's records in
 * a fixed order and numbers them from the highest stored seq. Seqs never come from Redis, so
 * losing Redis data cannot reuse one. The store keeps stored seqs gap-free across crashes, so a
 * replayed record (restart before the offset commit) is found in the recent window and keeps its
 * seq, and the numbering continues exactly where storage ends. Writes carry timestamps fenced by
 * the lease generation, so a consumer that lost the partition cannot overwrite the new owner.
 */
export class Sequencer {
  private readonly states = new Map<string, ConversationState>();

  constructor(
    private readonly store: MessageStore,
    private readonly epochOf: (conversationId: string) => Promise<string | null>,
    private readonly generation: number,
    private readonly maxConversations = 50_000,
  ) {}

  /**
   * Sequences and persists records (any mix of conversations). Returns the messages in seq order
   * per conversation, and the records that can never be sequenced. Throws only retriable errors.
   */
  async process(records: MessageRecord[]): Promise<{ messages: ChatMessage[]; poisoned: { record: MessageRecord; reason: string }[] }> {
    const byConversation = new Map<string, MessageRecord[]>();
    for (const r of records) pushTo(byConversation, r.conversation_id, r);
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
    const state = await this.state(conversationId);
    const known: ChatMessage[] = [];
    const fresh: MessageRecord[] = [];
    const freshIds = new Set<string>();
    for (const r of records) {
      if (state.settled.has(r.message_id)) continue;
      const seq = state.seqByMessageId.get(r.message_id);
      // Known but not settled here: stored by an earlier owner or run; write and deliver again.
      if (seq !== undefined) known.push(toMessage(r, seq, epoch));
      else if (!state.messageIdByClientKey.has(clientKey(r)) && !freshIds.has(r.message_id)) {
        freshIds.add(r.message_id);
        fresh.push(r);
      }
    }
    const assigned = fresh.map((r, i) => toMessage(r, state.lastSeq + 1 + i, epoch));
    const messages = [...known, ...assigned].sort((a, b) => a.seq - b.seq);
    if (messages.length === 0) return [];
    try {
      await this.store.append(conversationId, messages, fencedTimestamp(this.generation));
    } catch (err) {
      // Part may be stored: forget the state so the retry re-reads where storage ends.
      this.states.delete(conversationId);
      throw new RetriableError(`writing messages failed: ${(err as Error).message}`);
    }
    state.lastSeq += fresh.length;
    for (const m of messages) remember(state, m, true);
    return messages;
  }

  private async state(conversationId: string): Promise<ConversationState> {
    const cached = this.states.get(conversationId);
    if (cached) return cached;
    const lastSeq = await this.store.lastSeq(conversationId);
    const state: ConversationState = { lastSeq, seqByMessageId: new Map(), messageIdByClientKey: new Map(), settled: new Set() };
    for (const m of await this.store.readAfter(conversationId, Math.max(0, lastSeq - WINDOW), lastSeq, WINDOW)) remember(state, m, false);
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
