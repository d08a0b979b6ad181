import type { InternalPushStateRequest, PushRecipientState } from '@chat/protocol/internal';
import { mapLimit } from '@chat/server/collections';
import type { MembershipCache } from '../store/membership-cache.js';
import type { InboxService } from './inbox-service.js';
import type { ReadStateStore } from './read-state-store.js';

/** Cassandra reads in flight per request (a request names at most MAX_PUSH_STATE_ENTRIES pairs). */
const CONCURRENCY = 32;

/**
 * What the notifier reads before it pushes: read position, mute and membership per (user,
 * conversation), and each user's total unread count for the badge. The inbox owns these tables;
 * the notifier asks here instead of reading them itself, so their layout and the unread rule
 * (InboxService.totalUnread) have one home. Cost per entry: two point reads and a cached
 * membership lookup; per distinct user: one totalUnread (the user's conversation list, their
 * cached memberships and last seqs).
 */
export class PushStateService {
  constructor(
    private readonly reads: ReadStateStore,
    private readonly membership: MembershipCache,
    private readonly inbox: InboxService,
  ) {}

  async states({ entries }: InternalPushStateRequest): Promise<PushRecipientState[]> {
    const users = [...new Set(entries.map((e) => e.user_id))];
    const totals = new Map(await mapLimit(users, CONCURRENCY, async (u) => [u, await this.inbox.totalUnread(u)] as const));
    return mapLimit(entries, CONCURRENCY, async ({ user_id, conversation_id }) => {
      const [entry, readSeq, muted] = await Promise.all([
        this.membership.get(conversation_id),
        this.reads.readSeq(user_id, conversation_id),
        this.reads.isMuted(user_id, conversation_id),
      ]);
      return {
        user_id,
        conversation_id,
        read_seq: readSeq,
        muted,
        member: entry !== null && entry.members.has(user_id),
        total_unread: totals.get(user_id) ?? 0,
      };
    });
  }
}
