import type { ChatMessage } from '@chat/protocol';
import type { MessageRecord } from '@chat/protocol/internal';
import { pushTo } from '@chat/server/collections';
import { ByteLru, stringBytes } from '../cache/byte-lru.js';
import { contentHash, sha256 } from '../send/idempotency-store.js';
import type { MessageStore } from '../store/message-store.js';
import { clientKey, type SequencedSend, type SequencedSendStore } from '../store/sequenced-send-store.js';

/** An error that retrying later may fix (storage down). */
export class RetriableError extends Error {
  override name = 'RetriableError';
}

/** A record that can never be sequenced (e.g. its conversation does not exist): dead-letter it. */
export class PoisonRecordError extends Error {
  override name = 'PoisonRecordError';
}

/** The owner may no longer write (its partition lease is gone or unproven): stop working on the partition. */
export class OwnershipLostError extends Error {
  override name = 'OwnershipLostError';
}

/** Largest number of records sequenced before offsets are committed. */
export const MAX_CHUNK = 1000;
/** A resend with a new message_id but the same sender, client_msg_id, conversation and body is the same message within this window (G5). */
export const DEDUP_WINDOW_MS = 24 * 3600 * 1000;

export interface SequencerOptions {
  /** Approximate heap bytes of all per-conversation state; least recently used conversations are dropped beyond it. @default 67108864 (64 MiB) */
  maxStateBytes?: number;
  /** Recently stored messages remembered per conversation: a second copy of one is dropped without a storage read. @default 256 */
  recentPerConversation?: number;
  /** Called when a conversation's state is dropped (evicted or after a failure), so per-conversation caches elsewhere go with it. */
  onForget?: (conversationId: string) => void;
  /**
   * Time (epoch ms) by which every earlier owner of the partition had stopped writing (the lease's
   * `usableAt`). A record marked `first_send` and created after it (plus clock skew) cannot have
   * been stored by anyone before this sequencer: no durable lookup is made for it.
   * @default Infinity (always look up)
   */
  earlierOwnersStoppedBy?: number;
}

/** Clock offset tolerated between the send path's hosts and this one, for `first_send` records. */
const CREATED_AT_SKEW_MS = 1000;

export interface SequencerDeps {
  messages: MessageStore;
  sends: SequencedSendStore;
  /** The conversation's epoch, or null when it does not exist. */
  epochOf: (conversationId: string) => Promise<string | null>;
  /** Write timestamp (µs) for the next write; throws when this owner may no longer write. */
  timestamp: () => bigint;
}

export interface SequencerResult {
  /** Messages stored now or by an earlier run, to deliver; ascending seq within each conversation. */
  messages: ChatMessage[];
  /** Records that can never be sequenced, with the reason (dead-letter them). */
  poisoned: { record: MessageRecord; reason: string }[];
  /** Records recognised as copies or resends of a message already stored, and not stored again. */
  duplicates: number;
  /** Conversations that failed (retriable): nothing of theirs is in `messages`; retry exactly their records. */
  failed: Map<string, Error>;
}

interface Recent {
  seq: number;
  created_at: number;
  sender_id: string;
  client_msg_id: string;
  body_sha256: string;
}

/** What must be known to number a conversation's next message: reloaded from storage when dropped. */
interface ConversationState {
  lastSeq: number;
}

/** A conversation's recently stored messages: a fast path only (storage is the truth), dropped first under memory pressure. */
interface RecentMessages {
  /** message_id → what was stored under it, oldest first. */
  byId: Map<string, Recent>;
  /** clientKey → message_id of the same messages: catches a first send that Redis forgot anyway (a failover losing its last writes). */
  byKey: Map<string, string>;
  /** Approximate heap bytes of both maps, kept as entries come and go (measuring them anew per chunk cost a tenth of the sequencer's CPU). */
  bytes: number;
}

interface ConversationOutcome {
  messages: ChatMessage[];
  poisoned: { record: MessageRecord; reason: string }[];
  duplicates: number;
}

/** The body hash kept in durable rows; the same function the send path's idempotency records use. */
export const bodyHash = sha256;

const RECENT_ENTRY_OVERHEAD = 160;
/** One message's entries in RecentMessages' two maps. */
function recentEntryBytes(messageId: string, r: Recent): number {
  return 2 * RECENT_ENTRY_OVERHEAD + 2 * stringBytes(messageId) + 2 * stringBytes(r.sender_id) + 2 * stringBytes(r.client_msg_id) + stringBytes(r.body_sha256);
}
const stateBytes = (conversationId: string): number => 200 + stringBytes(conversationId);
const recentBytes = (conversationId: string, recent: RecentMessages): number => stateBytes(conversationId) + recent.bytes;

/**
 * Assigns the dense per-conversation seq (G3) in Kafka order and persists the messages, for the
 * conversations of ONE partition under ONE lease (a new owner gets a new Sequencer, so no state
 * survives a change of ownership).
 *
 * Kafka keys records by conversation, so the partition's owner sees a conversation's records in
 * a fixed order and numbers them from the highest stored seq. Seqs never come from Redis, so
 * losing Redis data cannot reuse one. Whether a record was already stored is decided from
 * durable state (SequencedSendStore rows confirmed against the messages), never from memory
 * alone: a replayed record keeps its seq however much is replayed, and a resend whose
 * idempotency record was lost (same sender, client_msg_id, conversation and body within 24 h) is
 * not stored twice. A record whose message_id is already stored with a different sender,
 * client_msg_id or body is never taken for a duplicate: it is poisoned (dead-lettered), since
 * storing it would show two messages under one id. The in-memory state is only a fast path,
 * bounded in bytes.
 *
 * Conversations are processed concurrently and settle independently; a conversation is never
 * processed by two overlapping calls.
 */
export class Sequencer {
  private readonly states: ByteLru<string, ConversationState>;
  private readonly recents: ByteLru<string, RecentMessages>;
  private readonly busy = new Map<string, Promise<unknown>>();
  private readonly recentPerConversation: number;
  private readonly forgetHook: (conversationId: string) => void;
  private firstSendsTrustedAfter: number;

  constructor(
    private readonly deps: SequencerDeps,
    options: SequencerOptions = {},
  ) {
    const onForget = options.onForget ?? (() => undefined);
    // Half the budget each. Recent messages are the large part and only save lookups; numbering
    // state is small and costly to reload (several reads): sharing one LRU, a busy partition's
    // recent messages evicted the numbering state of the very conversations about to be written.
    const maxBytes = options.maxStateBytes ?? 64 * 1024 * 1024;
    this.recents = new ByteLru(maxBytes / 2, recentBytes);
    this.states = new ByteLru(maxBytes / 2, stateBytes, (cid) => {
      this.recents.delete(cid);
      onForget(cid);
    });
    this.recentPerConversation = options.recentPerConversation ?? 256;
    this.forgetHook = onForget;
    this.firstSendsTrustedAfter = (options.earlierOwnersStoppedBy ?? Infinity) + CREATED_AT_SKEW_MS;
  }

  /**
   * Records created until now may be seen again (a retry after a partial write, a batch fetched
   * again): look each of them up in durable storage, first send or not.
   */
  distrustFirstSendsUntilNow(): void {
    this.firstSendsTrustedAfter = Math.max(this.firstSendsTrustedAfter, Date.now() + CREATED_AT_SKEW_MS);
  }

  private trustedFirstSend(record: MessageRecord): boolean {
    return record.first_send === true && record.created_at > this.firstSendsTrustedAfter;
  }

  /** Approximate heap bytes held by per-conversation state. */
  get stateBytes(): number {
    return this.states.bytes + this.recents.bytes;
  }

  /**
   * Forgets what this sequencer stored (a downstream step failed and the records will be seen
   * again): they are then looked up in durable storage and reported in `messages` once more.
   */
  forgetStored(): void {
    this.close();
    this.distrustFirstSendsUntilNow();
  }

  /** Drops all state (the partition was lost). */
  close(): void {
    this.states.clear();
    this.recents.clear();
  }

  /**
   * Sequences and persists records (any mix of conversations). Every conversation settles on its
   * own: a failing one never takes another's stored messages out of the result. `onStored` is
   * given each conversation's messages (as in `messages`) as soon as that conversation is done, so
   * they can be delivered without waiting for the slowest conversation of the call.
   */
  async process(records: MessageRecord[], onStored: (messages: ChatMessage[]) => void = () => undefined): Promise<SequencerResult> {
    const byConversation = new Map<string, MessageRecord[]>();
    for (const r of records) pushTo(byConversation, r.conversation_id, r);
    const result: SequencerResult = { messages: [], poisoned: [], duplicates: 0, failed: new Map() };
    const entries = [...byConversation];
    const settled = await Promise.allSettled(
      entries.map(([cid, recs]) =>
        this.exclusive(cid, async () => {
          const outcome = await this.processConversation(cid, recs);
          if (outcome.messages.length > 0) onStored(outcome.messages);
          return outcome;
        }),
      ),
    );
    settled.forEach((s, i) => {
      const [cid, recs] = entries[i]!;
      if (s.status === 'fulfilled') {
        result.messages.push(...s.value.messages);
        result.poisoned.push(...s.value.poisoned);
        result.duplicates += s.value.duplicates;
      } else if (s.reason instanceof PoisonRecordError) {
        result.poisoned.push(...recs.map((record) => ({ record, reason: (s.reason as Error).message })));
      } else {
        result.failed.set(cid, s.reason as Error);
      }
    });
    return result;
  }

  /** Runs `fn` after any earlier call for the same conversation has settled. */
  private async exclusive<T>(conversationId: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.busy.get(conversationId);
    const run = (previous ?? Promise.resolve()).then(fn, fn);
    const tail = run.then(
      () => undefined,
      () => undefined,
    );
    this.busy.set(conversationId, tail);
    void tail.then(() => {
      if (this.busy.get(conversationId) === tail) this.busy.delete(conversationId);
    });
    return run;
  }

  private async processConversation(conversationId: string, records: MessageRecord[]): Promise<ConversationOutcome> {
    const epoch = await this.deps.epochOf(conversationId);
    if (epoch === null) throw new PoisonRecordError(`conversation ${conversationId} does not exist`);
    try {
      return await this.sequence(conversationId, records, epoch);
    } catch (err) {
      // Part may be stored: forget the state so the retry re-reads where storage ends. Not when the
      // write's timestamp was refused (the lease wants a fresh confirmation): nothing was written, and
      // forgetting made every slow chunk reload its state and look its records up again.
      if (!(err instanceof OwnershipLostError)) this.forget(conversationId);
      if (err instanceof PoisonRecordError || err instanceof OwnershipLostError || err instanceof RetriableError) throw err;
      throw new RetriableError(`sequencing failed: ${(err as Error).message}`);
    }
  }

  private forget(conversationId: string): void {
    this.recents.delete(conversationId);
    if (this.states.delete(conversationId)) this.forgetHook(conversationId);
  }

  private async sequence(conversationId: string, records: MessageRecord[], epoch: string): Promise<ConversationOutcome> {
    const state = await this.state(conversationId);
    const recent = this.recentOf(conversationId);
    const out: ConversationOutcome = { messages: [], poisoned: [], duplicates: 0 };
    const poison = (record: MessageRecord, reason: string) => out.poisoned.push({ record, reason });

    // 1. Decided by memory: a second copy of a message this owner stored (and delivered).
    const pending: { record: MessageRecord; hash: string }[] = [];
    for (const record of records) {
      const hash = contentHash(
        record.body,
        record.attachments?.map((a) => a.attachment_id),
      );
      const stored = recent.byId.get(record.message_id);
      if (!stored) pending.push({ record, hash });
      else if (sameContent(stored, record, hash)) out.duplicates++;
      else poison(record, `message_id ${record.message_id} is already stored with a different sender, client_msg_id or body`);
    }
    if (pending.length === 0) return out;

    // 2. Decided by storage: rows of the same (sender, client_msg_id), trusted once confirmed. A
    //    trusted first send has none: nobody can have stored it, and no earlier send shares its key.
    //    A second copy of a message_id in this call (a client's retry of a send still in the backlog)
    //    is decided by the first copy below, so only first copies are looked up.
    const firstCopies = new Set<string>();
    const toLookUp: MessageRecord[] = [];
    for (const { record } of pending) {
      if (firstCopies.has(record.message_id)) continue;
      firstCopies.add(record.message_id);
      if (!this.trustedFirstSend(record)) toLookUp.push(record);
    }
    const rows = toLookUp.length > 0 ? await this.deps.sends.find(conversationId, toLookUp) : new Map<string, SequencedSend[]>();
    const idAtSeq = new Map<number, string | null>();
    const isStored = async (s: SequencedSend): Promise<boolean> => {
      if (s.seq > state.lastSeq) return false;
      if (!idAtSeq.has(s.seq)) idAtSeq.set(s.seq, await this.deps.messages.messageIdAt(conversationId, s.seq));
      return idAtSeq.get(s.seq) === s.message_id;
    };
    const known: ChatMessage[] = [];
    const fresh: SequencedSend[] = [];
    const freshByKey = new Map<string, SequencedSend[]>();
    const seen = new Map<string, { record: MessageRecord; hash: string }>();
    for (const { record, hash } of pending) {
      const earlier = seen.get(record.message_id);
      if (earlier) {
        if (sameContent({ ...earlier.record, body_sha256: earlier.hash }, record, hash)) out.duplicates++;
        else poison(record, `message_id ${record.message_id} appears twice with different content`);
        continue;
      }
      seen.set(record.message_id, { record, hash });
      const key = clientKey(record);
      const durable = rows.get(key) ?? [];
      const own = durable.find((s) => s.message_id === record.message_id);
      if (own && own.body_sha256 !== hash) {
        poison(record, `message_id ${record.message_id} is already stored with a different body`);
        continue;
      }
      if (own && (await isStored(own))) {
        known.push(toMessage(record, own.seq, epoch));
        continue;
      }
      if (isRecentResend(recent, record, hash) || (await this.isResend(record, hash, freshByKey.get(key) ?? [], durable, isStored))) {
        out.duplicates++;
        continue;
      }
      const send: SequencedSend = {
        conversation_id: conversationId,
        sender_id: record.sender_id,
        client_msg_id: record.client_msg_id,
        message_id: record.message_id,
        seq: state.lastSeq + 1 + fresh.length,
        body_sha256: hash,
        created_at: record.created_at,
      };
      fresh.push(send);
      pushTo(freshByKey, key, send);
    }

    // 3. Durable write: the messages with their dedup rows, each pair atomically.
    const freshMessages = fresh.map((s) => toMessage(recordOf(s, seen), s.seq, epoch));
    if (fresh.length > 0) {
      const timestamp = this.deps.timestamp();
      try {
        await this.deps.messages.append(conversationId, freshMessages, timestamp, fresh);
      } catch (err) {
        // Part may be stored: the retry must check every record it sees again.
        this.distrustFirstSendsUntilNow();
        throw err;
      }
      state.lastSeq = Math.max(state.lastSeq, ...fresh.map((s) => s.seq));
    }
    out.messages = [...known, ...freshMessages].sort((a, b) => a.seq - b.seq);
    for (const m of out.messages) this.remember(recent, m, seen.get(m.message_id)!.hash);
    this.recents.resize(conversationId);
    return out;
  }

  /** A different message_id of the same sender, client_msg_id and body, stored within the window: a resend. */
  private async isResend(
    record: MessageRecord,
    hash: string,
    thisAttempt: SequencedSend[],
    durable: SequencedSend[],
    isStored: (s: SequencedSend) => Promise<boolean>,
  ): Promise<boolean> {
    const matches = (s: SequencedSend) =>
      s.message_id !== record.message_id && s.body_sha256 === hash && Math.abs(s.created_at - record.created_at) <= DEDUP_WINDOW_MS;
    if (thisAttempt.some(matches)) return true;
    for (const s of durable) if (matches(s) && (await isStored(s))) return true;
    return false;
  }

  private remember(recent: RecentMessages, m: ChatMessage, hash: string): void {
    dropRecent(recent, m.message_id);
    const entry: Recent = { seq: m.seq, sender_id: m.sender_id, client_msg_id: m.client_msg_id, body_sha256: hash, created_at: m.created_at };
    recent.byId.set(m.message_id, entry);
    recent.byKey.set(clientKey(m), m.message_id);
    recent.bytes += recentEntryBytes(m.message_id, entry);
    while (recent.byId.size > this.recentPerConversation) dropRecent(recent, recent.byId.keys().next().value as string);
  }

  /** The conversation's recent messages (empty when never known or dropped), kept in the LRU. */
  private recentOf(conversationId: string): RecentMessages {
    const known = this.recents.get(conversationId);
    if (known) return known;
    const recent: RecentMessages = { byId: new Map(), byKey: new Map(), bytes: 0 };
    this.recents.set(conversationId, recent);
    return recent;
  }

  private async state(conversationId: string): Promise<ConversationState> {
    const cached = this.states.get(conversationId);
    if (cached) return cached;
    const state: ConversationState = { lastSeq: await this.deps.messages.lastSeq(conversationId) };
    this.states.set(conversationId, state);
    return state;
  }
}

/** A recently stored message with the same sender, client_msg_id and body under another message_id, within the window. */
function isRecentResend(recent: RecentMessages, record: MessageRecord, hash: string): boolean {
  const id = recent.byKey.get(clientKey(record));
  const stored = id === undefined ? undefined : recent.byId.get(id);
  return (
    id !== record.message_id && stored !== undefined && sameContent(stored, record, hash) && Math.abs(stored.created_at - record.created_at) <= DEDUP_WINDOW_MS
  );
}

function dropRecent(recent: RecentMessages, messageId: string): void {
  const r = recent.byId.get(messageId);
  if (!r) return;
  recent.byId.delete(messageId);
  recent.bytes -= recentEntryBytes(messageId, r);
  if (recent.byKey.get(clientKey(r)) === messageId) recent.byKey.delete(clientKey(r));
}

function sameContent(stored: { sender_id: string; client_msg_id: string; body_sha256: string }, record: MessageRecord, hash: string): boolean {
  return stored.sender_id === record.sender_id && stored.client_msg_id === record.client_msg_id && stored.body_sha256 === hash;
}

function recordOf(send: SequencedSend, seen: Map<string, { record: MessageRecord }>): MessageRecord {
  return seen.get(send.message_id)!.record;
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
    ...(r.attachments ? { attachments: r.attachments } : {}),
  };
}
