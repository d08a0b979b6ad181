import type { Redis } from '@chat/server/clients';
import { envDefault } from '@chat/server/config';
import { ByteLru, stringBytes } from '../cache/byte-lru.js';
import type { Conversation, ConversationStore } from './conversation-store.js';
import type { MembershipVersions } from './membership-versions.js';

export interface MembershipCacheOptions {
  /**
   * How long a member list is trusted without an invalidation (each entry draws its own time in the
   * last quarter of it, so lists loaded together are not reloaded together). @default 30000
   */
  ttlMs?: number;
  /**
   * After `ttlMs`, how much longer the list is still served while a reload runs in the background;
   * older than that, callers wait for the reload. @default 30000
   */
  staleMs?: number;
  /** Redis channel carrying "members of X changed" (RedisKeys.membersChanged). */
  channel: string;
  /** Approximate heap bytes of all cached entries (least recently used evicted; one over a quarter of it is not cached). @default MEMBERSHIP_CACHE_MAX_BYTES's default */
  maxBytes?: number;
  /** How long "no such conversation" is remembered; 0 disables. @default CONVERSATION_MISS_CACHE_MS's default */
  missTtlMs?: number;
  /** Most unknown ids remembered (apart from the member lists, so probes cannot evict them). @default 10000 */
  maxMisses?: number;
  /** Membership tokens: a list due for its reload is confirmed with one Redis read and reloaded only when its token changed. Absent: always reloaded. */
  versions?: MembershipVersions;
  /**
   * A list is read from storage again at least this often, however often its token confirmed it:
   * the bound for a change whose process died (or lost Redis) between its write and replacing the
   * token. @default 300000
   */
  reloadAfterMs?: number;
}

export interface MembershipEntry {
  conversation: Conversation;
  members: Set<string>;
  /** Join points above 0 (members added after the start); see joinedSeqOf. */
  joinedSeqs: Map<string, number>;
  loadedAt: number;
  /** When a reload is due (within the last quarter of the TTL after loadedAt or the last confirmation). */
  refreshAt: number;
  /** The membership token read before the list (null: none, the list is reloaded when due). */
  version: string | null;
}
type Entry = MembershipEntry;

/** The member's join point: messages at or below it are not theirs to read (0: every message is). */
export function joinedSeqOf(entry: Pick<MembershipEntry, 'joinedSeqs'>, userId: string): number {
  return entry.joinedSeqs.get(userId) ?? 0;
}

/**
 * Conversation + member set cache shared by the send path and the sequencer. Every process that
 * changes membership replaces the conversation's membership token and publishes an invalidation;
 * all processes drop their copy at once, and the TTL bounds staleness if an invalidation is missed:
 * a list past its TTL is confirmed against the token (one Redis read) and reloaded from storage
 * only when the token changed (or cannot be read). A list past its TTL is served while it is
 * confirmed or reloaded in the background (up to `staleMs`), so the send path never waits for a routine
 * reload: with every conversation loaded at once, they would all expire at once and stall every
 * send behind a wave of storage reads exactly when storage is busiest. An id with no conversation is remembered as
 * missing for `missTtlMs` (so requests naming unknown ids cost no Cassandra read meanwhile);
 * creating a conversation publishes an invalidation of its id too.
 */
export class MembershipCache {
  private readonly entries: ByteLru<string, Entry>;
  /** The load in progress per conversation; an invalidation detaches it so its result is not kept. */
  private readonly loading = new Map<string, { promise: Promise<Entry | null> }>();
  /** Unknown conversation id → when it was found missing. */
  private readonly misses = new Map<string, number>();
  private readonly opts: Required<Omit<MembershipCacheOptions, 'versions'>> & Pick<MembershipCacheOptions, 'versions'>;

  constructor(
    private readonly store: ConversationStore,
    private readonly pub: Redis,
    options: MembershipCacheOptions,
  ) {
    this.opts = {
      ttlMs: 30_000,
      staleMs: 30_000,
      reloadAfterMs: 300_000,
      maxBytes: envDefault('MEMBERSHIP_CACHE_MAX_BYTES'),
      missTtlMs: envDefault('CONVERSATION_MISS_CACHE_MS'),
      maxMisses: 10_000,
      ...options,
    };
    this.entries = new ByteLru(this.opts.maxBytes, entryBytes);
  }

  /** Approximate heap bytes of the cached entries. */
  get bytes(): number {
    return this.entries.bytes;
  }

  /** Subscribes to invalidations on a dedicated subscriber connection. */
  async listen(sub: Redis): Promise<void> {
    sub.on('message', (channel: string, conversationId: string) => {
      if (channel !== this.opts.channel) return;
      this.forget(conversationId);
    });
    await sub.subscribe(this.opts.channel);
  }

  async get(conversationId: string): Promise<Entry | null> {
    const now = Date.now();
    const hit = this.entries.get(conversationId);
    if (hit && now < hit.refreshAt) return hit;
    if (hit && now < hit.refreshAt + this.opts.staleMs) {
      // A failed background reload leaves the entry as it was: the next call tries again.
      this.loadOnce(conversationId, hit).catch(() => undefined);
      return hit;
    }
    const missedAt = this.misses.get(conversationId);
    if (missedAt !== undefined && now - missedAt < this.opts.missTtlMs) return null;
    return this.loadOnce(conversationId, hit);
  }

  /** One load (or confirmation of `cached`) per conversation at a time; concurrent callers share it. */
  private loadOnce(conversationId: string, cached?: Entry): Promise<Entry | null> {
    const current = this.loading.get(conversationId);
    if (current) return current.promise;
    const load = {} as { promise: Promise<Entry | null> };
    const isCurrent = () => this.loading.get(conversationId) === load;
    load.promise = this.load(conversationId, isCurrent, cached).finally(() => {
      if (isCurrent()) this.loading.delete(conversationId);
    });
    this.loading.set(conversationId, load);
    return load.promise;
  }

  /**
   * Reads the conversation, or keeps `cached` when its membership token is unchanged; keeps the
   * result only if no invalidation came meanwhile. The token is read before the member list, so a
   * change racing the read leaves a token that differs at the next confirmation.
   */
  private async load(conversationId: string, isCurrent: () => boolean, cached?: Entry): Promise<Entry | null> {
    const confirmable = cached !== undefined && Date.now() - cached.loadedAt < this.opts.reloadAfterMs;
    // undefined: not read yet (null is a read that failed, not repeated below).
    let version = confirmable ? await this.versionOf(conversationId) : undefined;
    if (confirmable && version !== null && version === cached.version) {
      const confirmed = { ...cached, refreshAt: this.refreshTime(Date.now()) };
      if (isCurrent()) this.entries.set(conversationId, confirmed);
      return confirmed;
    }
    const conversation = await this.store.get(conversationId);
    if (!conversation) {
      if (isCurrent()) this.rememberMiss(conversationId);
      return null;
    }
    this.misses.delete(conversationId);
    // Only now, for a conversation that exists: probing unknown ids must not create tokens in Redis.
    if (version === undefined) version = await this.versionOf(conversationId);
    const list = await this.store.members(conversationId);
    const members = new Set(list.map((m) => m.user_id));
    const joinedSeqs = new Map(list.filter((m) => m.joined_seq > 0).map((m) => [m.user_id, m.joined_seq]));
    const loadedAt = Date.now();
    const entry = { conversation, members, joinedSeqs, loadedAt, refreshAt: this.refreshTime(loadedAt), version };
    if (isCurrent()) this.entries.set(conversationId, entry); // not kept when too large; served uncached then
    return entry;
  }

  /** A time in the last quarter of the TTL after `from`. */
  private refreshTime(from: number): number {
    return from + this.opts.ttlMs * (0.75 + 0.25 * Math.random());
  }

  /** The conversation's membership token; null without tokens or when Redis fails (the list is then reloaded when due). */
  private async versionOf(conversationId: string): Promise<string | null> {
    if (!this.opts.versions) return null;
    try {
      return await this.opts.versions.current(conversationId);
    } catch {
      return null;
    }
  }

  async isMember(conversationId: string, userId: string): Promise<boolean> {
    return (await this.get(conversationId))?.members.has(userId) ?? false;
  }

  /** Drops what is known of the conversation here, including a load that started before now. */
  private forget(conversationId: string): void {
    this.entries.delete(conversationId);
    this.misses.delete(conversationId);
    this.loading.delete(conversationId);
  }

  private rememberMiss(conversationId: string): void {
    if (this.opts.missTtlMs <= 0) return;
    this.misses.delete(conversationId);
    if (this.misses.size >= this.opts.maxMisses) {
      const oldest = this.misses.keys().next().value;
      if (oldest !== undefined) this.misses.delete(oldest);
    }
    this.misses.set(conversationId, Date.now());
  }

  /** Drops the cached entry (or remembered miss) here and, through Redis, in every process. */
  async invalidate(conversationId: string): Promise<void> {
    this.forget(conversationId);
    // The token first: a process reloading on the message below reads the new one.
    await this.opts.versions?.bump(conversationId);
    await this.pub.publish(this.opts.channel, conversationId);
  }
}

/** Map/Set slot, object and string headers per member; conversation fields. */
const MEMBER_BYTES = 64;
const ENTRY_BYTES = 400;
function entryBytes(conversationId: string, e: Entry): number {
  const c = e.conversation;
  let bytes = ENTRY_BYTES + stringBytes(conversationId) + stringBytes(c.title ?? '') + stringBytes(c.created_by) + stringBytes(c.epoch);
  for (const m of e.members) bytes += MEMBER_BYTES + stringBytes(m);
  bytes += e.joinedSeqs.size * MEMBER_BYTES; // keys are shared with the member set
  return bytes;
}
