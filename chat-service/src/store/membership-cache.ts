import type { Redis } from '@chat/shared';
import type { Conversation, ConversationStore } from './conversation-store.js';

export interface MembershipCacheOptions {
  /** How long a member list is trusted without an invalidation. @default 30000 */
  ttlMs?: number;
  /** Redis channel carrying "members of X changed". @default 'chat:members-changed' */
  channel?: string;
  /** Most conversations kept. @default 10000 */
  maxEntries?: number;
}

interface Entry {
  conversation: Conversation;
  members: Set<string>;
  loadedAt: number;
}

/**
 * Conversation + member set cache shared by the send path and the sequencer. Every process that
 * changes membership publishes an invalidation; all processes drop their copy at once, and the
 * TTL bounds staleness if an invalidation is missed.
 */
export class MembershipCache {
  private readonly entries = new Map<string, Entry>();
  private readonly loading = new Map<string, Promise<Entry | null>>();
  private readonly opts: Required<MembershipCacheOptions>;

  constructor(
    private readonly store: ConversationStore,
    private readonly pub: Redis,
    options: MembershipCacheOptions = {},
  ) {
    this.opts = { ttlMs: 30_000, channel: 'chat:members-changed', maxEntries: 10_000, ...options };
  }

  /** Subscribes to invalidations on a dedicated subscriber connection. */
  async listen(sub: Redis): Promise<void> {
    sub.on('message', (channel: string, conversationId: string) => {
      if (channel === this.opts.channel) this.entries.delete(conversationId);
    });
    await sub.subscribe(this.opts.channel);
  }

  async get(conversationId: string): Promise<Entry | null> {
    const hit = this.entries.get(conversationId);
    if (hit && Date.now() - hit.loadedAt < this.opts.ttlMs) return hit;
    let pending = this.loading.get(conversationId);
    if (!pending) {
      pending = this.load(conversationId).finally(() => this.loading.delete(conversationId));
      this.loading.set(conversationId, pending);
    }
    return pending;
  }

  private async load(conversationId: string): Promise<Entry | null> {
    const conversation = await this.store.get(conversationId);
    if (!conversation) return null;
    const members = new Set((await this.store.members(conversationId)).map((m) => m.user_id));
    const entry = { conversation, members, loadedAt: Date.now() };
    if (this.entries.size >= this.opts.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(conversationId, entry);
    return entry;
  }

  async isMember(conversationId: string, userId: string): Promise<boolean> {
    return (await this.get(conversationId))?.members.has(userId) ?? false;
  }

  async invalidate(conversationId: string): Promise<void> {
    this.entries.delete(conversationId);
    await this.pub.publish(this.opts.channel, conversationId);
  }
}
