import type { ChatMessage, ConversationSync, DigestFrame, Position, ServerFrame, SyncHintFrame, SyncResultFrame } from '@chat/protocol';
import { fullJitterDelay, type BackoffOptions } from './backoff.js';
import type { Connection } from './connection.js';
import { ChatClosedError, ChatConnectionError, ChatGapError, ChatRequestError, ChatTimeoutError, retryDelay } from './errors.js';
import { toChatMessage, validMessages, wirePosition } from './messages.js';
import { OrderedInbox, type InboxResult } from './ordered-inbox.js';
import type { Requests } from './requests.js';
import type { Scheduler } from './scheduler.js';

export interface ResyncInfo {
  conversationId: string;
  reason: NonNullable<ConversationSync['reason']>;
  /** The server's current epoch for the conversation. */
  epoch: string;
  /** The server's last seq: the client resumes after it; reload older history via `history()`. */
  lastSeq: number;
}

export interface ResumeOptions {
  /** Page size of history requests that fill a gap. */
  gapFillPageSize: number;
  /** Answered history rounds without progress before a gap is skipped. */
  maxGapFillAttempts: number;
  retryBackoff: BackoffOptions;
}

/** What resuming tells the client's listeners. */
export interface ResumeEvents {
  message(msg: ChatMessage): void;
  resync(info: ResyncInfo): void;
  error(err: Error): void;
}

/**
 * Why positions are synced. `resume`: after (re)connecting or `track()`; more than RESUME_MAX_MESSAGES
 * behind is answered resync / too_far_behind and the client adopts the server's position (G4).
 * `catch-up`: on a live connection (`sync.hint`, `digest`, has_more rounds); too_far_behind in the
 * client's epoch is a gap, filled from history and never skipped (G2).
 */
type SyncKind = 'resume' | 'catch-up';

const MAX_SYNC_POSITIONS = 1000;
/** Longest delay a `sync.hint` may ask for. */
const MAX_HINT_DELAY_MS = 60_000;

/**
 * Positions per conversation and everything that keeps them gapless: `sync` after connecting,
 * `sync.hint` and `digest` on a live connection, gaps filled from history, `resync` when the
 * server cannot serve a resume. Messages leave here exactly once, in seq order (OrderedInbox).
 */
export class Resume {
  private readonly inbox = new OrderedInbox();
  private readonly filling = new Set<string>();
  private syncing = 0;

  constructor(
    private readonly connection: Connection,
    private readonly requests: Requests,
    private readonly scheduler: Scheduler,
    private readonly events: ResumeEvents,
    private readonly o: ResumeOptions,
    positions: readonly Position[],
  ) {
    for (const p of positions) this.inbox.track(p.conversation_id, p.seq, p.epoch);
  }

  /** See ChatClient.track. */
  track(conversationId: string, seq: number, epoch?: string): void {
    this.emitMessages(this.inbox.track(conversationId, seq, epoch));
    if (this.connection.isReady()) {
      const pos = this.inbox.position(conversationId);
      if (pos) void this.syncPositions([pos], this.connection.generation);
    }
  }

  untrack(conversationId: string): void {
    this.inbox.forget(conversationId);
  }

  positions(): Position[] {
    return this.inbox.positions();
  }

  /** A new connection is ready: resume every position. */
  connected(): void {
    void this.syncPositions(this.inbox.positions(), this.connection.generation);
  }

  /** The connection is gone: syncs in flight on it are abandoned. */
  connectionLost(): void {
    this.syncing = 0;
  }

  onMessage(frame: ServerFrame): void {
    const msg = toChatMessage(frame);
    if (!msg) {
      this.events.error(new Error('received a message frame with an invalid shape'));
      return;
    }
    this.applyInbox(this.inbox.accept(msg));
    this.maybeFillGap(msg.conversation_id);
  }

  /** Real-time delivery may have been interrupted: resume every position (after the server's spread delay). */
  onSyncHint(frame: SyncHintFrame): void {
    const gen = this.connection.generation;
    const afterMs = Math.min(MAX_HINT_DELAY_MS, Math.max(0, Number(frame.after_ms) || 0));
    this.scheduler.schedule(() => {
      if (gen === this.connection.generation && this.connection.isReady()) void this.syncPositions(this.inbox.positions(), gen, 'catch-up');
    }, afterMs);
  }

  /**
   * Latest seqs of conversations this connection used. Behind in the same epoch means a real-time
   * message was lost on a live connection: that is a gap like one a later message reveals, filled
   * from history and never skipped. (A `sync` could be answered `resync` / too_far_behind when more
   * than RESUME_MAX_MESSAGES were missed, which would skip them.) Another epoch, or none known
   * yet: `sync`, so the server says how to go on.
   */
  onDigest(frame: DigestFrame): void {
    if (!this.connection.isReady() || !Array.isArray(frame.conversations)) return;
    const toSync: Position[] = [];
    for (const c of frame.conversations) {
      if (typeof c?.conversation_id !== 'string' || !Number.isSafeInteger(c.last_seq)) continue;
      const pos = this.inbox.position(c.conversation_id);
      if (!pos) continue; // not tracked (any more)
      const epoch = typeof c.epoch === 'string' ? c.epoch : undefined;
      if (pos.epoch !== undefined && epoch === pos.epoch) {
        if (c.last_seq <= pos.seq) continue;
        this.inbox.noteExists(c.conversation_id, c.last_seq, epoch);
        this.maybeFillGap(c.conversation_id);
      } else if (c.last_seq > pos.seq || (pos.epoch !== undefined && epoch !== undefined)) {
        toSync.push(pos);
      }
    }
    if (toSync.length > 0) void this.syncPositions(toSync, this.connection.generation, 'catch-up');
  }

  /**
   * Syncs `positions`, 1000 per request. A conversation answered with `has_more` (its missed
   * messages did not fit in one reply) is synced again from its new position until it is complete;
   * a round in which nothing moved stops (gap filling takes over from there). `kind`: see SyncKind;
   * the rounds after the first are catch-up (the server already agreed to serve the resume).
   */
  private async syncPositions(positions: Position[], gen: number, kind: SyncKind = 'resume'): Promise<void> {
    if (positions.length === 0) return;
    this.syncing++;
    try {
      let pending = positions;
      for (let round = 0; pending.length > 0; round++) {
        const more: string[] = [];
        for (let i = 0; i < pending.length; i += MAX_SYNC_POSITIONS) {
          const chunk = pending.slice(i, i + MAX_SYNC_POSITIONS).map(wirePosition);
          let reply: ServerFrame;
          try {
            reply = await this.requests.withRetry(() => this.requests.request({ type: 'sync', positions: chunk }, { resendOnReconnect: false }));
          } catch (err) {
            if (gen !== this.connection.generation || err instanceof ChatConnectionError || err instanceof ChatClosedError) return;
            this.events.error(err instanceof Error ? err : new Error(String(err)));
            continue;
          }
          if (gen !== this.connection.generation) return;
          if (reply.type !== 'sync.result') continue;
          this.applySync(reply, round === 0 ? kind : 'catch-up');
          for (const c of reply.conversations ?? []) if (c.status === 'ok' && c.has_more === true) more.push(c.conversation_id);
        }
        const before = new Map(pending.map((p) => [p.conversation_id, p.seq]));
        pending = more.map((id) => this.inbox.position(id)).filter((p): p is Position => p !== undefined);
        if (!pending.some((p) => p.seq !== before.get(p.conversation_id))) break;
      }
    } finally {
      if (gen === this.connection.generation) {
        this.syncing--;
        if (this.syncing === 0) for (const g of this.inbox.gaps()) this.maybeFillGap(g.conversationId);
      }
    }
  }

  private applySync(reply: SyncResultFrame, kind: SyncKind): void {
    for (const c of reply.conversations ?? []) {
      if (c.status === 'resync') {
        const reason = c.reason ?? 'epoch_changed';
        if (kind === 'catch-up' && reason === 'too_far_behind' && c.epoch && c.epoch === this.inbox.position(c.conversation_id)?.epoch) {
          // More missed on a live connection than a resume serves: a gap, filled from history once the sync is done.
          this.inbox.noteExists(c.conversation_id, c.last_seq, c.epoch);
          continue;
        }
        // Not a member any more (the server has no epoch to give): stop tracking the conversation.
        const gone = (reason as string) === 'not_member' || !c.epoch;
        const released = gone ? [] : this.inbox.resync(c.conversation_id, c.epoch, c.last_seq);
        if (gone) this.inbox.forget(c.conversation_id);
        this.events.resync({ conversationId: c.conversation_id, reason, epoch: c.epoch, lastSeq: c.last_seq });
        this.emitMessages(released);
      } else {
        this.applyInbox(this.inbox.syncOk(c.conversation_id, c.epoch, c.last_seq, validMessages(c.messages ?? [])));
      }
    }
  }

  private maybeFillGap(conversationId: string): void {
    if (this.syncing > 0 || !this.connection.isReady() || this.filling.has(conversationId)) return;
    if (!this.inbox.gap(conversationId)) return;
    void this.fillGap(conversationId, this.connection.generation);
  }

  /** Fetches history after lastSeq until the gap is closed; skips a range that never shows up. */
  private async fillGap(conversationId: string, gen: number): Promise<void> {
    this.filling.add(conversationId);
    let stalled = 0;
    let failures = 0;
    try {
      for (;;) {
        if (gen !== this.connection.generation) return;
        const gap = this.inbox.gap(conversationId);
        if (!gap) return;
        const limit = Math.max(1, Math.min(this.o.gapFillPageSize, gap.until - gap.after, 1000));
        let progressed = false;
        try {
          const page = await this.requests.withRetry(() => this.requests.historyOnce(conversationId, { after: gap.after, limit }, false));
          if (gen !== this.connection.generation) return;
          const before = this.inbox.position(conversationId)?.seq;
          this.applyInbox(this.inbox.acceptAll(page.messages.filter((m) => m.conversation_id === conversationId)));
          progressed = this.inbox.position(conversationId)?.seq !== before;
        } catch (err) {
          if (gen !== this.connection.generation || err instanceof ChatConnectionError || err instanceof ChatClosedError) return;
          this.events.error(err instanceof Error ? err : new Error(String(err)));
          if (err instanceof ChatTimeoutError || (err instanceof ChatRequestError && err.retry)) {
            // No answer (timeout, rate limit, backend down) says nothing about the seqs: they are
            // probably stored. Back off and ask again; only answered pages count towards a skip.
            failures++;
            await this.scheduler.sleep(retryDelay(err, fullJitterDelay(Math.min(failures - 1, 16), this.o.retryBackoff)));
            continue;
          }
          if (err instanceof ChatRequestError) stalled = this.o.maxGapFillAttempts; // a permanent refusal
        }
        failures = 0;
        if (progressed) {
          stalled = 0;
          continue;
        }
        // Real-time delivery can be ahead of storage: the missing seqs may appear shortly.
        stalled++;
        if (stalled >= this.o.maxGapFillAttempts) {
          stalled = 0;
          const skipped = this.inbox.skipGap(conversationId);
          if (skipped) {
            this.events.error(new ChatGapError(conversationId, skipped.from, skipped.to));
            this.emitMessages(skipped.deliver);
          }
          continue;
        }
        await this.scheduler.sleep(fullJitterDelay(stalled - 1, this.o.retryBackoff));
      }
    } finally {
      this.filling.delete(conversationId);
    }
  }

  private applyInbox(result: InboxResult): void {
    if (result.epochChange) {
      const c = result.epochChange;
      this.events.resync({ conversationId: c.conversationId, reason: 'epoch_changed', epoch: c.epoch, lastSeq: c.lastSeq });
    }
    this.emitMessages(result.deliver);
  }

  private emitMessages(messages: readonly ChatMessage[]): void {
    for (const m of messages) this.events.message(m);
  }
}
