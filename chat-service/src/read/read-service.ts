import { ChatError, Errors, type ConversationSync, type HistoryPage, type InternalHistoryRequest, type Position } from '@chat/shared';
import type { MembershipCache } from '../store/membership-cache.js';
import type { MessageStore } from '../store/message-store.js';

export interface ReadLimits {
  historyMaxLimit: number;
  resumeMaxMessages: number;
}

/** History pages and resume (G4), always authorized against membership. */
export class ReadService {
  constructor(
    private readonly membership: MembershipCache,
    private readonly messages: MessageStore,
    private readonly limits: ReadLimits,
  ) {}

  private async authorize(conversationId: string, userId: string): Promise<void> {
    if (!(await this.membership.isMember(conversationId, userId))) throw new ChatError(Errors.NOT_MEMBER);
  }

  /** Newest page by default; `after` pages forward, `before` pages backward. Ascending seq order. */
  async history(req: InternalHistoryRequest): Promise<HistoryPage> {
    await this.authorize(req.conversation_id, req.user_id);
    const limit = Math.min(req.limit ?? 50, this.limits.historyMaxLimit);
    const lastSeq = (await this.messages.lastSeqs([req.conversation_id])).get(req.conversation_id) ?? 0;
    if (req.after !== undefined) {
      const until = req.before !== undefined ? Math.min(lastSeq, req.before - 1) : lastSeq;
      const page = await this.messages.readAfter(req.conversation_id, req.after, until, limit + 1);
      return { conversation_id: req.conversation_id, messages: page.slice(0, limit), has_more: page.length > limit };
    }
    const before = Math.min(req.before ?? lastSeq + 1, lastSeq + 1);
    const page = await this.messages.readBefore(req.conversation_id, before, limit + 1);
    return { conversation_id: req.conversation_id, messages: page.slice(-limit), has_more: page.length > limit };
  }

  /** What each position missed, or "resync" when it cannot be served. */
  async sync(userId: string, positions: Position[]): Promise<ConversationSync[]> {
    const unique = [...new Map(positions.map((p) => [p.conversation_id, p])).values()];
    const lastSeqs = await this.messages.lastSeqs(unique.map((p) => p.conversation_id));
    return Promise.all(
      unique.map(async (p): Promise<ConversationSync> => {
        const entry = await this.membership.get(p.conversation_id);
        const lastSeq = lastSeqs.get(p.conversation_id) ?? 0;
        if (!entry || !entry.members.has(userId)) {
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
        if (lastSeq - p.seq > this.limits.resumeMaxMessages) return resync('too_far_behind');
        const messages = await this.messages.readAfter(p.conversation_id, p.seq, lastSeq, this.limits.resumeMaxMessages);
        return { conversation_id: p.conversation_id, epoch, status: 'ok', last_seq: lastSeq, messages };
      }),
    );
  }
}
