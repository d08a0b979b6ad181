import { ChatError, Errors, type ConversationLatest, type ConversationSync, type Position } from '@chat/protocol';
import type { HistoryPage, InternalHistoryRequest } from '@chat/protocol/internal';
import { joinedSeqOf, type MembershipCache, type MembershipEntry } from '../store/membership-cache.js';
import type { MessageStore } from '../store/message-store.js';
import { mapLimit } from '@chat/server/collections';
import type { LatestSeqs } from './latest-seqs.js';
import { ENVELOPE_BYTES, ReplyBudget, readForwardWithin } from './reply-budget.js';

/** One user's `sync` (see ReadService.sync). */
export interface SyncRequest {
  userId: string;
  positions: Position[];
  maxBytes?: number;
}

export interface ReadLimits {
  historyMaxLimit: number;
  resumeMaxMessages: number;
  /** Conversations of one sync request checked or read at the same time (SYNC_CONCURRENCY). */
  syncConcurrency: number;
}

/** History pages and resume (G4), always authorized against membership. */
export class ReadService {
  constructor(
    private readonly membership: MembershipCache,
    private readonly messages: MessageStore,
    private readonly latestSeqs: LatestSeqs,
    private readonly limits: ReadLimits,
  ) {}

  /** Checks membership; returns the member's join point (only later messages are theirs to read). */
  private async joinPoint(conversationId: string, userId: string): Promise<number> {
    const entry = await this.membership.get(conversationId);
    if (!entry || !entry.members.has(userId)) throw new ChatError(Errors.NOT_MEMBER);
    return joinedSeqOf(entry, userId);
  }

  /**
   * Newest page by default; `after` pages forward, `before` pages backward. Ascending seq order;
   * never a message at or below the member's join point.
   * `limit` is capped at historyMaxLimit; with `max_bytes` the page also stops where the next
   * message would exceed that many bytes (at least one message is returned), and `has_more` says so.
   */
  async history(req: InternalHistoryRequest): Promise<HistoryPage> {
    const floor = await this.joinPoint(req.conversation_id, req.user_id);
    const limit = Math.min(req.limit ?? 50, this.limits.historyMaxLimit);
    const budget = new ReplyBudget(req.max_bytes);
    budget.charge(ENVELOPE_BYTES);
    const lastSeq = (await this.messages.lastSeqs([req.conversation_id])).get(req.conversation_id) ?? 0;
    if (req.after !== undefined) {
      const until = req.before !== undefined ? Math.min(lastSeq, req.before - 1) : lastSeq;
      const page = await this.messages.readAfter(req.conversation_id, Math.max(req.after, floor), until, limit + 1);
      const candidates = page.slice(0, limit);
      const n = budget.takeFront(candidates);
      return { conversation_id: req.conversation_id, messages: candidates.slice(0, n), has_more: page.length > limit || n < candidates.length };
    }
    const before = Math.min(req.before ?? lastSeq + 1, lastSeq + 1);
    if (before <= floor + 1) return { conversation_id: req.conversation_id, messages: [], has_more: false };
    // Nothing at or below the join point: a page that reaches it ends there (has_more false).
    const visible = (await this.messages.readBefore(req.conversation_id, before, limit + 1)).filter((m) => m.seq > floor);
    const candidates = visible.slice(-limit);
    const n = budget.takeBack(candidates);
    return {
      conversation_id: req.conversation_id,
      messages: candidates.slice(candidates.length - n),
      has_more: visible.length > limit || n < candidates.length,
    };
  }

  /**
   * Latest seq and epoch of each known conversation (unknown ones are left out), mostly from Redis
   * (LatestSeqs). Not authorized: only gateways call it, for conversations their own connections
   * used (the digest).
   */
  async latest(conversationIds: readonly string[]): Promise<ConversationLatest[]> {
    const unique = [...new Set(conversationIds)];
    const entries = await Promise.all(unique.map((cid) => this.membership.get(cid)));
    const known = unique.flatMap((conversationId, i) => {
      const entry = entries[i];
      return entry ? [{ conversationId, epoch: entry.conversation.epoch }] : [];
    });
    const lastSeqs = await this.latestSeqs.get(known, this.messages);
    return known.map((c) => ({ conversation_id: c.conversationId, last_seq: lastSeqs.get(c.conversationId) ?? 0, epoch: c.epoch }));
  }

  /**
   * What each position missed, or "resync" when it cannot be served. With `maxBytes` the reply's
   * messages fit that many bytes (at least one message is returned): a conversation whose missed
   * messages did not all fit has `has_more: true` and is synced again from its last message.
   * Membership is checked first (cached; unknown ids are remembered as missing), so a conversation
   * the user is not in is answered `not_member` without reading its seq or messages; at most
   * `syncConcurrency` conversations are checked or read at once, whatever the request holds.
   */
  async sync(userId: string, positions: Position[], maxBytes?: number): Promise<ConversationSync[]> {
    const [result] = await this.syncMany([{ userId, positions, maxBytes }]);
    if (result instanceof Error) throw result;
    return result!;
  }

  /**
   * `sync` for several requests at once (a gateway's batch): each conversation's membership and
   * last seq are read once for all of them, so a storm of resumes into the same conversations
   * costs one storage read per conversation and batch, not per client. The last seqs are read
   * after the batch arrived, so each request still sees every message stored before it asked.
   * A request whose message reads fail gets its own error; a failed membership or last-seq read
   * fails the batch.
   */
  async syncMany(requests: readonly SyncRequest[]): Promise<(ConversationSync[] | Error)[]> {
    const uniques = requests.map((r) => [...new Map(r.positions.map((p) => [p.conversation_id, p])).values()]);
    const ids = [...new Set(uniques.flatMap((positions) => positions.map((p) => p.conversation_id)))];
    const entries = await mapLimit(ids, this.limits.syncConcurrency, (id) => this.membership.get(id));
    const entryOf = new Map(ids.map((id, i) => [id, entries[i]]));
    const memberEntry = (userId: string, conversationId: string) => {
      const entry = entryOf.get(conversationId);
      return entry?.members.has(userId) ? entry : null;
    };
    const read = new Set(requests.flatMap((r, i) => uniques[i]!.filter((p) => memberEntry(r.userId, p.conversation_id)).map((p) => p.conversation_id)));
    const lastSeqs = await this.messages.lastSeqs([...read]);
    return Promise.all(
      requests.map((r, i) =>
        this.syncOne(r.userId, uniques[i]!, r.maxBytes, memberEntry, lastSeqs).catch((err: unknown) => (err instanceof Error ? err : new Error(String(err)))),
      ),
    );
  }

  private syncOne(
    userId: string,
    unique: Position[],
    maxBytes: number | undefined,
    memberEntry: (userId: string, conversationId: string) => MembershipEntry | null,
    lastSeqs: Map<string, number>,
  ): Promise<ConversationSync[]> {
    const budget = new ReplyBudget(maxBytes);
    budget.charge(ENVELOPE_BYTES * (unique.length + 1));
    return mapLimit(unique, this.limits.syncConcurrency, async (p): Promise<ConversationSync> => {
      const entry = memberEntry(userId, p.conversation_id);
      const lastSeq = lastSeqs.get(p.conversation_id) ?? 0;
      if (!entry) {
        return { conversation_id: p.conversation_id, epoch: '', status: 'resync', reason: 'not_member', last_seq: 0, messages: [] };
      }
      const epoch = entry.conversation.epoch;
      const resync = (reason: ConversationSync['reason']): ConversationSync => ({
        conversation_id: p.conversation_id,
        epoch,
        status: 'resync',
        ...(reason ? { reason } : {}),
        last_seq: lastSeq,
        messages: [],
      });
      if (p.epoch !== undefined && p.epoch !== epoch) return resync('epoch_changed');
      if (p.seq > lastSeq) return resync('epoch_changed'); // the client is ahead of the server: its history is not ours
      // A position before the member's join point resumes from the join point.
      const from = Math.max(p.seq, joinedSeqOf(entry, userId));
      if (lastSeq - from > this.limits.resumeMaxMessages) return resync('too_far_behind');
      const { messages, cut } = await readForwardWithin(this.messages, p.conversation_id, from, lastSeq, this.limits.resumeMaxMessages, budget);
      return { conversation_id: p.conversation_id, epoch, status: 'ok', last_seq: lastSeq, messages, ...(cut ? { has_more: true } : {}) };
    });
  }
}
