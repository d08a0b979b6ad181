import type { ChatMessage } from '@chat/protocol';
import { parseSequencedRecord } from '@chat/protocol/internal';
import type { Consumer, EachBatchPayload } from 'kafkajs';
import type { Logger } from '@chat/server/logger';
import type { SessionRegistry } from '@chat/server/routing';
import type { NotifierMetrics } from './metrics.js';
import type { ConversationDirectory } from './recipients/members.js';
import type { WindowStore } from './state/window-store.js';

export interface CollapsePolicy {
  windowMs: number;
  onlineGraceMs: number;
  largeGroupMembers: number;
  largeGroupWindowMs: number;
  previews: boolean;
}

/** The message of a sequenced record; null for anything else (skipped and counted: it can never be processed). */
function decode(value: Buffer | null): ChatMessage | null {
  if (value === null) return null;
  try {
    return parseSequencedRecord(value.toString('utf8')).message;
  } catch {
    return null;
  }
}

/** When a window opened now for a recipient is due. */
export function dueDelayMs(p: CollapsePolicy, memberCount: number, online: boolean): number {
  if (memberCount > p.largeGroupMembers) return Math.max(p.largeGroupWindowMs, online ? p.onlineGraceMs : 0);
  return online ? Math.max(p.windowMs, p.onlineGraceMs) : p.windowMs;
}

/**
 * The notifier's consumer of the sequenced stream (its own group): adds each message to the
 * collapse window of every member but the sender. Offsets are committed only after the windows
 * are written; a replayed record is ignored by windows that already hold its seq.
 */
export class SequencedConsumer {
  constructor(
    private readonly consumer: Consumer,
    private readonly deps: { windows: WindowStore; conversations: ConversationDirectory; registry: SessionRegistry; metrics: NotifierMetrics; log: Logger },
    private readonly topic: string,
    private readonly policy: CollapsePolicy,
  ) {}

  async start(): Promise<void> {
    await this.consumer.subscribe({ topic: this.topic, fromBeginning: false });
    await this.consumer.run({ eachBatchAutoResolve: false, eachBatch: (b) => this.onBatch(b) });
  }

  private async onBatch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    for (const record of batch.messages) {
      if (!isRunning() || isStale()) return;
      const message = decode(record.value);
      if (message === null) this.deps.metrics.skippedRecords.inc();
      else await this.onMessage(message.conversation_id, message.seq, message.epoch, message.sender_id, message.body);
      resolveOffset(record.offset);
      await heartbeat();
    }
  }

  private async onMessage(conversationId: string, seq: number, epoch: string, senderId: string, body: string): Promise<void> {
    const { members } = await this.deps.conversations.get(conversationId);
    const recipients = members.filter((m) => m !== senderId);
    if (recipients.length === 0) return;
    const online = new Set([...(await this.deps.registry.gatewaysFor(recipients)).values()].flat());
    const now = Date.now();
    const preview = this.policy.previews ? `${senderId}: ${body}`.slice(0, 200) : '';
    await this.deps.windows.add(
      conversationId,
      seq,
      epoch,
      recipients.map((userId) => ({ userId, dueAt: now + dueDelayMs(this.policy, members.length, online.has(userId)) })),
      preview,
    );
  }
}
