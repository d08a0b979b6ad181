import { ChatError, Errors, type ReadCount } from '@chat/protocol';
import { envDefault } from '@chat/server/config';
import { ByteLru } from '../cache/byte-lru.js';
import { joinedSeqOf, type MembershipCache } from '../store/membership-cache.js';
import type { MessageStore } from '../store/message-store.js';
import type { ReadStateStore } from './read-state-store.js';

export interface ReadCountsOptions {
  /** How long one conversation's positions serve counts before they are read again. @default READ_COUNT_CACHE_MS's default */
  cacheMs?: number;
  /** Approximate heap budget of the cached positions. @default 16 MiB */
  maxBytes?: number;
}

interface Positions {
  /** Read positions of the members who have one, ascending. */
  sorted: Float64Array;
  members: number;
  loadedAt: number;
}

/**
 * Read counts for conversations of any size, in place of per-message receipts in large ones. One
 * count reads the conversation's positions (one partition, at most one row per member, of
 * conversation_read_positions) unless a copy younger than `cacheMs` is cached; concurrent requests
 * share one read; a count is then a binary search. Counts may lag by up to `cacheMs`.
 */
export class ReadCounts {
  private readonly cache: ByteLru<string, Positions>;
  private readonly loading = new Map<string, Promise<Positions>>();
  private readonly opts: Required<ReadCountsOptions>;

  constructor(
    private readonly reads: Pick<ReadStateStore, 'positionsIn'>,
    private readonly membership: MembershipCache,
    private readonly messages: Pick<MessageStore, 'lastSeq'>,
    options: ReadCountsOptions = {},
  ) {
    this.opts = { cacheMs: envDefault('READ_COUNT_CACHE_MS'), maxBytes: 16 * 1024 * 1024, ...options };
    this.cache = new ByteLru(this.opts.maxBytes, (k, v) => 128 + k.length * 2 + v.sorted.byteLength);
  }

  /** Members only (4003); a seq the caller cannot read (after the last, at or before their join point) is 4004. */
  async count(userId: string, conversationId: string, seq: number): Promise<ReadCount> {
    const entry = await this.membership.get(conversationId);
    if (!entry || !entry.members.has(userId)) throw new ChatError(Errors.NOT_MEMBER);
    if (seq <= joinedSeqOf(entry, userId) || seq > (await this.messages.lastSeq(conversationId))) throw new ChatError(Errors.NOT_FOUND, 'no such message');
    const positions = await this.positions(conversationId, entry.members);
    return { conversation_id: conversationId, seq, read_count: positions.sorted.length - lowerBound(positions.sorted, seq), members: positions.members };
  }

  private async positions(conversationId: string, members: Set<string>): Promise<Positions> {
    const hit = this.cache.get(conversationId);
    if (hit && Date.now() - hit.loadedAt < this.opts.cacheMs && hit.members === members.size) return hit;
    let pending = this.loading.get(conversationId);
    if (!pending) {
      pending = this.load(conversationId, members).finally(() => this.loading.delete(conversationId));
      this.loading.set(conversationId, pending);
    }
    return pending;
  }

  private async load(conversationId: string, members: Set<string>): Promise<Positions> {
    const all = await this.reads.positionsIn(conversationId);
    // Only current members count: a former member's row stays (rows are never deleted, see migration 010).
    const mine: number[] = [];
    for (const [user, seq] of all) if (members.has(user)) mine.push(seq);
    const positions = { sorted: Float64Array.from(mine).sort(), members: members.size, loadedAt: Date.now() };
    this.cache.set(conversationId, positions);
    return positions;
  }
}

/** Index of the first element >= value in an ascending array. */
function lowerBound(sorted: Float64Array, value: number): number {
  let [lo, hi] = [0, sorted.length];
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
