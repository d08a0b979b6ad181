import type { ChatMessage, Position } from '@chat/protocol';

/**
 * Per-conversation ordering and dedup for received messages (pure; no I/O).
 *
 * For each conversation it keeps the epoch, `lastSeq` (highest seq released to the app, in order),
 * `highWater` (highest seq known to exist) and a buffer of messages that arrived ahead of a gap.
 * Messages are released exactly once and in seq order; duplicates (same message_id, or seq <= lastSeq)
 * are dropped. When `highWater > lastSeq` there is a gap, and `gap()` says what to fetch from history.
 */

export interface Gap {
  conversationId: string;
  /** Fetch history with `after` = this (the last seq released). */
  after: number;
  /** Highest seq known to exist; the gap is closed once lastSeq reaches it. */
  until: number;
}

export interface EpochChange {
  conversationId: string;
  previousEpoch: string;
  epoch: string;
  /** The position the conversation was reset to in the new epoch. */
  lastSeq: number;
}

export interface InboxResult {
  /** Messages to emit now, in order. */
  deliver: ChatMessage[];
  /** Set when a message carried a new epoch: the position was reset and the app must resync. */
  epochChange?: EpochChange;
}

export interface OrderedInboxOptions {
  /** message_ids remembered per conversation for dedup (in addition to the seq check). @default 2048 */
  maxRememberedIds?: number;
}

class BoundedSet {
  private readonly set = new Set<string>();
  constructor(private readonly max: number) {}
  has(v: string): boolean {
    return this.set.has(v);
  }
  add(v: string): void {
    if (this.set.has(v)) return;
    this.set.add(v);
    if (this.set.size > this.max) {
      const oldest = this.set.values().next();
      if (!oldest.done) this.set.delete(oldest.value);
    }
  }
  delete(v: string): void {
    this.set.delete(v);
  }
}

interface Slot {
  msg: ChatMessage;
  /** False for a message already released under another seq/epoch: it fills its slot silently. */
  emit: boolean;
}

interface ConvState {
  epoch: string | undefined;
  lastSeq: number;
  highWater: number;
  buffer: Map<number, Slot>;
  seen: BoundedSet;
  /** Epochs this conversation moved away from; their messages are stale and dropped. */
  retired: Set<string>;
}

export class OrderedInbox {
  private readonly convs = new Map<string, ConvState>();
  private readonly maxIds: number;

  constructor(options: OrderedInboxOptions = {}) {
    this.maxIds = options.maxRememberedIds ?? 2048;
  }

  has(conversationId: string): boolean {
    return this.convs.has(conversationId);
  }

  position(conversationId: string): Position | undefined {
    const s = this.convs.get(conversationId);
    return s ? toPosition(conversationId, s) : undefined;
  }

  /** Current positions of every known conversation (persist these and pass them back via `track`). */
  positions(): Position[] {
    return [...this.convs].map(([id, s]) => toPosition(id, s));
  }

  /** Number of messages held back waiting for a gap to fill. */
  buffered(conversationId: string): number {
    return this.convs.get(conversationId)?.buffer.size ?? 0;
  }

  /**
   * Declares a starting position: messages with seq <= `seq` count as seen, and a later message with a
   * higher seq makes a gap that is filled from `seq`. Never moves a position backwards within one epoch;
   * a different epoch resets the conversation. Returns messages released by moving forward.
   */
  track(conversationId: string, seq: number, epoch?: string): ChatMessage[] {
    const s = this.convs.get(conversationId);
    if (!s) {
      this.convs.set(conversationId, this.fresh(epoch, seq));
      return [];
    }
    if (epoch !== undefined && s.epoch !== undefined && epoch !== s.epoch) {
      this.reset(s, epoch, seq);
      return drain(s);
    }
    if (s.epoch === undefined && epoch !== undefined) s.epoch = epoch;
    if (seq <= s.lastSeq) return [];
    s.lastSeq = seq;
    s.highWater = Math.max(s.highWater, seq);
    for (const k of [...s.buffer.keys()]) if (k <= seq) s.buffer.delete(k);
    return drain(s);
  }

  /** Feeds one message (real-time, sync or history) through dedup and ordering. */
  accept(msg: ChatMessage): InboxResult {
    let s = this.convs.get(msg.conversation_id);
    if (!s) {
      // First contact without a declared position: start at whatever arrives first.
      s = this.fresh(msg.epoch, msg.seq - 1);
      this.convs.set(msg.conversation_id, s);
    }
    if (s.epoch === undefined) s.epoch = msg.epoch;
    if (s.retired.has(msg.epoch)) return { deliver: [] };

    let epochChange: EpochChange | undefined;
    if (msg.epoch !== s.epoch) {
      epochChange = {
        conversationId: msg.conversation_id,
        previousEpoch: s.epoch,
        epoch: msg.epoch,
        lastSeq: msg.seq - 1,
      };
      this.reset(s, msg.epoch, msg.seq - 1);
    }
    const result: InboxResult = { deliver: [] };
    if (epochChange) result.epochChange = epochChange;

    if (msg.seq <= s.lastSeq || s.buffer.has(msg.seq)) return result;
    // Already released (e.g. re-sequenced after an epoch change): occupy the slot without emitting again.
    const emit = !s.seen.has(msg.message_id);
    s.seen.add(msg.message_id);
    s.buffer.set(msg.seq, { msg, emit });
    s.highWater = Math.max(s.highWater, msg.seq);
    result.deliver = drain(s);
    return result;
  }

  /** Feeds several messages (any order) and merges the results. */
  acceptAll(messages: readonly ChatMessage[]): InboxResult {
    const out: InboxResult = { deliver: [] };
    for (const m of [...messages].sort((a, b) => a.seq - b.seq)) {
      const r = this.accept(m);
      out.deliver.push(...r.deliver);
      if (r.epochChange) out.epochChange = r.epochChange;
    }
    return out;
  }

  /** Records that seq `seq` exists in `epoch` (e.g. a sync's last_seq), opening a gap if it is ahead. */
  noteExists(conversationId: string, seq: number, epoch: string): void {
    const s = this.convs.get(conversationId);
    if (!s || (s.epoch !== undefined && s.epoch !== epoch)) return;
    s.epoch ??= epoch;
    s.highWater = Math.max(s.highWater, seq);
  }

  /** Applies a sync result with status 'ok': its messages, then its last_seq. */
  syncOk(conversationId: string, epoch: string, lastSeq: number, messages: readonly ChatMessage[]): InboxResult {
    const s = this.convs.get(conversationId);
    let epochChange: EpochChange | undefined;
    if (!s) {
      this.convs.set(conversationId, this.fresh(epoch, Math.min(lastSeq, ...messages.map((m) => m.seq - 1))));
    } else if (s.epoch === undefined) {
      s.epoch = epoch;
    } else if (s.epoch !== epoch) {
      epochChange = { conversationId, previousEpoch: s.epoch, epoch, lastSeq };
      this.reset(s, epoch, lastSeq);
    }
    const result = this.acceptAll(messages.filter((m) => m.conversation_id === conversationId));
    this.noteExists(conversationId, lastSeq, epoch);
    if (epochChange) result.epochChange = epochChange;
    return result;
  }

  /**
   * The server said resync: adopt its epoch and last seq. Within the same epoch the position never moves
   * backwards (the client may be ahead of storage). Buffered messages of the new epoch after the new
   * position are kept; those now in order are returned for release.
   */
  resync(conversationId: string, epoch: string, lastSeq: number): ChatMessage[] {
    const s = this.convs.get(conversationId);
    if (!s) {
      this.convs.set(conversationId, this.fresh(epoch, lastSeq));
      return [];
    }
    this.reset(s, epoch, s.epoch === epoch ? Math.max(s.lastSeq, lastSeq) : lastSeq);
    return drain(s);
  }

  /** Stops tracking a conversation (e.g. the user left it). */
  forget(conversationId: string): void {
    this.convs.delete(conversationId);
  }

  /** The gap to fill for a conversation, if any. */
  gap(conversationId: string): Gap | undefined {
    const s = this.convs.get(conversationId);
    if (!s || s.highWater <= s.lastSeq) return undefined;
    return { conversationId, after: s.lastSeq, until: s.highWater };
  }

  gaps(): Gap[] {
    const out: Gap[] = [];
    for (const id of this.convs.keys()) {
      const g = this.gap(id);
      if (g) out.push(g);
    }
    return out;
  }

  /**
   * Gives up on the first missing range: moves lastSeq to just before the next buffered message (or to
   * highWater when nothing is buffered) and releases what follows. Returns the skipped range and messages.
   */
  skipGap(conversationId: string): { from: number; to: number; deliver: ChatMessage[] } | undefined {
    const s = this.convs.get(conversationId);
    if (!s || s.highWater <= s.lastSeq) return undefined;
    const from = s.lastSeq + 1;
    const next = s.buffer.size > 0 ? Math.min(...s.buffer.keys()) : s.highWater + 1;
    s.lastSeq = next - 1;
    return { from, to: next - 1, deliver: drain(s) };
  }

  private fresh(epoch: string | undefined, seq: number): ConvState {
    const lastSeq = Math.max(0, seq);
    return { epoch, lastSeq, highWater: lastSeq, buffer: new Map(), seen: new BoundedSet(this.maxIds), retired: new Set() };
  }

  /** Moves to (epoch, seq), keeping buffered messages of that epoch beyond seq. Callers drain. */
  private reset(s: ConvState, epoch: string, seq: number): void {
    if (s.epoch !== undefined && s.epoch !== epoch) s.retired.add(s.epoch);
    s.retired.delete(epoch);
    s.epoch = epoch;
    s.lastSeq = Math.max(0, seq);
    s.highWater = s.lastSeq;
    for (const [k, slot] of [...s.buffer]) {
      if (slot.msg.epoch === epoch && k > s.lastSeq) {
        s.highWater = Math.max(s.highWater, k);
      } else {
        s.buffer.delete(k);
        // Never released: forget it so a redelivery after the reset is not taken for a duplicate.
        if (slot.emit) s.seen.delete(slot.msg.message_id);
      }
    }
  }
}

function drain(s: ConvState): ChatMessage[] {
  const out: ChatMessage[] = [];
  for (;;) {
    const next = s.buffer.get(s.lastSeq + 1);
    if (!next) break;
    s.buffer.delete(s.lastSeq + 1);
    s.lastSeq++;
    if (next.emit) out.push(next.msg);
  }
  return out;
}

function toPosition(conversationId: string, s: ConvState): Position {
  return s.epoch !== undefined ? { conversation_id: conversationId, seq: s.lastSeq, epoch: s.epoch } : { conversation_id: conversationId, seq: s.lastSeq };
}
