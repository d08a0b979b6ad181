import {
  ChatError,
  Errors,
  type ChatMessage,
  type ConversationLatest,
  type ConversationListItem,
  type ConversationListPage,
  type EverythingNew,
  type LargeConversationNew,
} from '@chat/protocol';
import { ENVELOPE_BYTES, ReplyBudget } from '../read/reply-budget.js';
import type { ConversationStore } from '../store/conversation-store.js';
import { joinedSeqOf, type MembershipCache, type MembershipEntry } from '../store/membership-cache.js';
import type { MessageStore } from '../store/message-store.js';
import type { ConversationListStore } from './conversation-list-store.js';
import { decodeInboxCursor, encodeInboxCursor, type InboxKey } from './inbox-cursor.js';
import type { InboxEntry, InboxStore } from './inbox-store.js';
import { withFirstPages } from './large-first-pages.js';
import { INBOX_VISIBILITY_MS } from './inbox-writer.js';
import type { ReadStateStore } from './read-state-store.js';
import type { ReceiptPublisher } from './receipt-publisher.js';

/** Oldest inbox position a cursor may name; an older (or no) cursor starts here. */
export const INBOX_RETENTION_MS = 7 * 86_400_000;
const PAGE_ENTRIES = 500;
/** Inbox entries read per step while filling a page. */
const READ_STEP = 100;

/** One "everything new" request: the cursor of the previous reply, the reply's byte budget, and how many messages of each large conversation to include (none: only their latest seq). */
export interface EverythingNewRequest {
  cursor?: string | undefined;
  maxBytes?: number | undefined;
  largeFirstPage?: number | undefined;
}

const encodeCursor = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
function decodeCursor(cursor: string): unknown {
  try {
    return JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new ChatError(Errors.INVALID_SHAPE, 'cursor: not a cursor this server issued');
  }
}

/**
 * "Everything new for me", the ordered conversation list, read positions and mute: the reads of
 * the hybrid fanout. Small conversations are served from the user's inbox and list rows (one
 * partition each); large ones are merged in from the conversation itself.
 */
export class InboxService {
  constructor(
    private readonly inbox: InboxStore,
    private readonly lists: ConversationListStore,
    private readonly reads: ReadStateStore,
    private readonly conversations: ConversationStore,
    private readonly membership: MembershipCache,
    private readonly messages: MessageStore,
    private readonly fanoutWriteMaxMembers: number,
    /** Receipts to online devices; none: positions are stored only. */
    private readonly receipts?: ReceiptPublisher,
  ) {}

  private async mine(userId: string) {
    const ids = await this.conversations.listForUser(userId);
    const entries = await Promise.all(ids.map((id) => this.membership.get(id)));
    return entries.filter((e): e is NonNullable<typeof e> => e !== null && e.members.has(userId));
  }

  private isLarge(e: { conversation: { kind: string }; members: Set<string> }): boolean {
    return e.conversation.kind !== 'direct' && e.members.size > this.fanoutWriteMaxMembers;
  }

  /**
   * "Everything new for me", one page: inbox entries after the cursor (see InboxCursor), at most
   * PAGE_ENTRIES and, with `maxBytes`, as many messages as fit (at least one); `has_more` when
   * entries were left for the next page. Entries of conversations the user is no longer in are
   * dropped. Every page lists the latest seq of the user's large conversations; with
   * `largeFirstPage`, the page that ends the round also carries the first page of each one's
   * messages after the user's read position, from what the budget has left (see withFirstPages).
   */
  async everythingNew(userId: string, request: EverythingNewRequest = {}, now = Date.now()): Promise<EverythingNew> {
    const { cursor, maxBytes, largeFirstPage } = request;
    const oldest = now - INBOX_RETENTION_MS;
    const c = cursor !== undefined ? decodeInboxCursor(cursor) : undefined;
    // Within a round of pages continue after the last entry; a new round looks back INBOX_VISIBILITY_MS
    // (entries become visible within that long of their stamp).
    const continues = c?.k !== undefined && c.k.entry_ts > oldest;
    const roundStart = continues ? Math.min(c!.t, now) : now;
    const after: number | InboxKey = continues ? c!.k! : Math.max(oldest, (c?.t ?? 0) - INBOX_VISIBILITY_MS);
    const [first, mine] = await Promise.all([this.inbox.readSince(userId, after, now, READ_STEP + 1), this.mine(userId)]);
    const memberOf = new Map(mine.map((e) => [e.conversation.conversation_id, e]));
    // Entries of conversations the user left, and from before the user's join point, are not theirs.
    const readable = (e: InboxEntry) => {
      const entry = memberOf.get(e.conversation_id);
      return entry !== undefined && e.seq > joinedSeqOf(entry, userId);
    };
    const largeOnes = mine.filter((e) => this.isLarge(e));
    const large = await this.latestOfLarge(largeOnes);
    const budget = new ReplyBudget(maxBytes);
    budget.charge(ENVELOPE_BYTES + Buffer.byteLength(JSON.stringify(large)));
    const messages: ChatMessage[] = [];
    let last: InboxEntry | undefined;
    let [chunk, want, read, hasMore] = [first, READ_STEP, 0, false];
    // In steps of READ_STEP entries (rows carry their messages), so a reply cut by bytes reads little more than it returns.
    for (;;) {
      const entries = chunk.slice(0, want);
      const bodies = await this.bodiesOf(entries.filter((e) => e.message === undefined && readable(e)));
      let cut = false;
      for (const e of entries) {
        const m = readable(e) ? (e.message ?? bodies.get(`${e.conversation_id}:${e.seq}`)) : undefined;
        if (m !== undefined && budget.takeFront([m]) === 0) {
          cut = true;
          break;
        }
        if (m !== undefined) messages.push(m);
        last = e;
      }
      read += entries.length;
      const moreStored = chunk.length > want;
      hasMore = cut || (moreStored && read >= PAGE_ENTRIES);
      if (hasMore || !moreStored) break;
      want = Math.min(READ_STEP, PAGE_ENTRIES - read);
      chunk = await this.inbox.readSince(userId, entries.at(-1)!, now, want + 1);
    }
    const next = hasMore && last ? encodeInboxCursor({ t: roundStart, k: last }) : encodeInboxCursor({ t: roundStart });
    // First pages once per round, on its last page: the inbox's own messages have the budget first.
    const largeNew = largeFirstPage !== undefined && !hasMore ? await this.firstPagesOfLarge(userId, largeOnes, large, largeFirstPage, budget) : large;
    return { messages, large: largeNew, cursor: next, has_more: hasMore };
  }

  /** `large` (the latest of `entries`, in the same order) with first pages after the user's read position, never at or before the join point. */
  private async firstPagesOfLarge(
    userId: string,
    entries: MembershipEntry[],
    large: ConversationLatest[],
    perConversation: number,
    budget: ReplyBudget,
  ): Promise<LargeConversationNew[]> {
    const joined = entries.map((e) => joinedSeqOf(e, userId));
    // Nothing after the join points: no read positions to read.
    if (large.every((l, i) => l.last_seq <= joined[i]!)) return large;
    const readSeqs = await this.reads.readSeqs(userId);
    const positions = large.map((latest, i) => ({ latest, afterSeq: Math.max(readSeqs.get(latest.conversation_id) ?? 0, joined[i]!) }));
    return withFirstPages(this.messages, positions, perConversation, budget);
  }

  /** The messages behind inbox entries that do not carry theirs (rows older than migration 012), read once per conversation range, keyed `conversation:seq`. */
  private async bodiesOf(entries: InboxEntry[]): Promise<Map<string, ChatMessage>> {
    const ranges = new Map<string, { min: number; max: number }>();
    for (const e of entries) {
      const r = ranges.get(e.conversation_id);
      ranges.set(e.conversation_id, r ? { min: Math.min(r.min, e.seq), max: Math.max(r.max, e.seq) } : { min: e.seq, max: e.seq });
    }
    const bodies = new Map<string, ChatMessage>();
    await Promise.all(
      [...ranges].map(async ([cid, r]) => {
        for (const m of await this.messages.readAfter(cid, r.min - 1, r.max, r.max - r.min + 1)) bodies.set(`${cid}:${m.seq}`, m);
      }),
    );
    return bodies;
  }

  private async latestOfLarge(large: { conversation: { conversation_id: string; epoch: string } }[]): Promise<EverythingNew['large']> {
    const lastSeqs = await this.messages.lastSeqs(large.map((e) => e.conversation.conversation_id));
    return large.map((e) => ({
      conversation_id: e.conversation.conversation_id,
      epoch: e.conversation.epoch,
      last_seq: lastSeqs.get(e.conversation.conversation_id) ?? 0,
    }));
  }

  async conversationList(userId: string, cursor: string | undefined, limit: number): Promise<ConversationListPage> {
    const [mine, rows, readSeqs] = await Promise.all([this.mine(userId), this.lists.rows(userId), this.reads.readSeqs(userId)]);
    const rowOf = new Map(rows.map((r) => [r.conversation_id, r]));
    const large = mine.filter((e) => this.isLarge(e)).map((e) => e.conversation.conversation_id);
    const largeSeqs = await this.messages.lastSeqs(large);
    const largeLast = await Promise.all(
      large.map(async (cid) => {
        const last = largeSeqs.get(cid) ?? 0;
        return [cid, last > 0 ? (await this.messages.readAfter(cid, last - 1, last, 1))[0] : undefined] as const;
      }),
    );
    const latestOfLarge = new Map(largeLast);
    const items: ConversationListItem[] = mine.map((e) => {
      const cid = e.conversation.conversation_id;
      const row = rowOf.get(cid);
      const latest = latestOfLarge.get(cid);
      // A conversation that grew past the threshold has an older row: the newer source wins.
      const fromLatest = latest && latest.seq > (row?.last_seq ?? 0);
      const lastSeq = fromLatest ? latest.seq : (row?.last_seq ?? 0);
      const readSeq = Math.min(readSeqs.get(cid) ?? 0, lastSeq);
      // No preview of a message from before the user joined (a rejoined member's old row included).
      const previewable = lastSeq > joinedSeqOf(e, userId);
      return {
        conversation_id: cid,
        kind: e.conversation.kind,
        title: e.conversation.title,
        epoch: e.conversation.epoch,
        last_activity: fromLatest ? latest.created_at : row?.last_activity || e.conversation.created_at,
        last_seq: lastSeq,
        preview: !previewable
          ? null
          : fromLatest
            ? { message_id: latest.message_id, sender_id: latest.sender_id, body: latest.body.slice(0, 140) }
            : row?.last_message_id
              ? { message_id: row.last_message_id, sender_id: row.preview_sender ?? '', body: row.preview ?? '' }
              : null,
        read_seq: readSeq,
        unread: Math.max(0, lastSeq - readSeq),
        muted: row?.muted ?? false,
        fanout: this.isLarge(e) ? 'read' : 'write',
      };
    });
    // Newest activity first; ties by id so pages are stable.
    items.sort((a, b) => b.last_activity - a.last_activity || (a.conversation_id < b.conversation_id ? -1 : 1));
    let start = 0;
    if (cursor !== undefined) {
      const c = decodeCursor(cursor) as { a?: unknown; c?: unknown };
      if (typeof c.a !== 'number' || typeof c.c !== 'string') throw new ChatError(Errors.INVALID_SHAPE, 'cursor: not a cursor this server issued');
      const [a, id] = [c.a, c.c];
      start = items.findIndex((i) => i.last_activity < a || (i.last_activity === a && i.conversation_id > id));
      if (start < 0) start = items.length;
    }
    const page = items.slice(start, start + limit);
    const last = page.at(-1);
    return start + limit < items.length && last
      ? { conversations: page, next_cursor: encodeCursor({ a: last.last_activity, c: last.conversation_id }) }
      : { conversations: page };
  }

  /** The user's total unread count over every conversation (what the notifier badges). */
  async totalUnread(userId: string): Promise<number> {
    const [mine, readSeqs] = await Promise.all([this.mine(userId), this.reads.readSeqs(userId)]);
    const lastSeqs = await this.messages.lastSeqs(mine.map((e) => e.conversation.conversation_id));
    let total = 0;
    for (const [cid, last] of lastSeqs) total += Math.max(0, last - (readSeqs.get(cid) ?? 0));
    return total;
  }

  /** Moves the user's read position forward (never back); returns the position now stored. */
  /**
   * Moves the user's read position forward (never back) and returns the position now stored. The
   * reader's devices get a `receipt`; so does every member of a conversation fanned out on write.
   * Large conversations send no receipt to other members (one read would fan out to thousands).
   */
  async markRead(userId: string, conversationId: string, seq: number): Promise<number> {
    const entry = await this.membership.get(conversationId);
    if (!entry || !entry.members.has(userId)) throw new ChatError(Errors.NOT_MEMBER);
    const last = await this.messages.lastSeq(conversationId);
    await this.reads.markRead(userId, conversationId, Math.min(seq, last));
    const stored = await this.reads.readSeq(userId, conversationId);
    if (this.receipts && stored > 0) {
      const recipients = this.isLarge(entry) ? [userId] : entry.members;
      // Best effort: the position is stored; a lost receipt shows up in the list and the next receipt.
      await this.receipts.publish(recipients, { conversation_id: conversationId, user_id: userId, seq: stored }).catch(() => 0);
    }
    return stored;
  }

  async setMuted(userId: string, conversationId: string, muted: boolean): Promise<void> {
    if (!(await this.membership.isMember(conversationId, userId))) throw new ChatError(Errors.NOT_MEMBER);
    await this.reads.setMuted(userId, conversationId, muted);
  }
}
