import type { Consumer, EachBatchPayload, Producer } from 'kafkajs';
import type { ChatMessage } from '@chat/protocol';
import { parseSequencedRecord } from '@chat/protocol/internal';
import { pushTo } from '@chat/server/collections';
import type { Logger } from '@chat/server/logger';
import type { ConversationListStore } from './conversation-list-store.js';
import type { InboxStore } from './inbox-store.js';
import type { ReadStateStore } from './read-state-store.js';

export interface InboxWriterOptions {
  topic: string;
  dlqTopic: string;
  /** Conversations with at most this many members (direct ones always) are fanned out on write. @default 50 */
  fanoutWriteMaxMembers?: number;
  /** Attempts per batch before the partition is handed back to Kafka's retry. @default 5 */
  maxRetries?: number;
}

export interface InboxMetrics {
  markInboxRows(count: number): void;
  markListRows(count: number): void;
}

/** Members of a conversation as the membership cache knows them now; null when it does not exist. */
export type MembersOf = (conversationId: string) => Promise<{ kind: 'direct' | 'group'; members: Set<string> } | null>;

/**
 * An entry must be visible to readers within this long of its stamp: a fanout that took longer is
 * written again with a new stamp (readers look this far back, see InboxReader).
 */
export const INBOX_VISIBILITY_MS = 10_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Consumes the sequenced stream (its own consumer group) and fans small conversations out on
 * write: one inbox row per member and message, the members' conversation list rows, and the
 * sender's read position. Large conversations get nothing per member (fanout on read). Offsets
 * are committed only after the writes: a replay rewrites the same rows (same stamp, from
 * inbox_fanout) and copies of a record (the sequencer republished it) are dropped by seq.
 */
export class InboxWriter {
  private readonly threshold: number;
  private readonly maxRetries: number;
  /** Highest seq fanned out per conversation (this process owns the conversation's partition). */
  private readonly fanned = new Map<string, { fannedSeq: number; pending?: { from: number; to: number; ts: number } }>();

  constructor(
    private readonly consumer: Consumer,
    private readonly dlqProducer: Producer,
    private readonly inbox: InboxStore,
    private readonly lists: ConversationListStore,
    private readonly reads: ReadStateStore,
    private readonly membersOf: MembersOf,
    private readonly metrics: InboxMetrics,
    private readonly log: Logger,
    private readonly opts: InboxWriterOptions,
  ) {
    this.threshold = opts.fanoutWriteMaxMembers ?? 50;
    this.maxRetries = opts.maxRetries ?? 5;
  }

  async start(): Promise<void> {
    // Progress kept in memory is only valid while this process owns the partitions.
    this.consumer.on(this.consumer.events.GROUP_JOIN, () => this.fanned.clear());
    await this.consumer.subscribe({ topic: this.opts.topic, fromBeginning: true });
    await this.consumer.run({ eachBatchAutoResolve: false, autoCommit: true, partitionsConsumedConcurrently: 16, eachBatch: (p) => this.handleBatch(p) });
  }

  async handleBatch({ batch, resolveOffset, commitOffsetsIfNecessary, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    if (!isRunning() || isStale() || batch.messages.length === 0) return;
    const byConversation = new Map<string, ChatMessage[]>();
    for (const m of batch.messages) {
      try {
        const { message } = parseSequencedRecord(m.value?.toString('utf8') ?? '');
        pushTo(byConversation, message.conversation_id, message);
      } catch (err) {
        await this.deadLetter(m.value, m.key, (err as Error).message, batch.partition, m.offset);
      }
    }
    for (let attempt = 1; ; attempt++) {
      try {
        await Promise.all([...byConversation].map(([cid, messages]) => this.conversation(cid, messages)));
        break;
      } catch (err) {
        this.fanned.clear();
        this.log.warn({ err, attempt, partition: batch.partition }, 'inbox fanout failed, retrying');
        if (attempt >= this.maxRetries) throw err;
        await sleep(Math.random() * Math.min(100 * 2 ** attempt, 5000));
        await heartbeat();
      }
    }
    const last = batch.messages.at(-1)!.offset;
    resolveOffset(last);
    await commitOffsetsIfNecessary({ topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: (BigInt(last) + 1n).toString() }] }] });
    await heartbeat();
  }

  private async conversation(cid: string, all: ChatMessage[]): Promise<void> {
    const progress = this.fanned.get(cid) ?? (await this.inbox.progress(cid));
    this.fanned.set(cid, progress);
    // Copies (a republished chunk) and replays of what was finished are dropped by seq.
    const fresh = dedupBySeq(all).filter((m) => m.seq > progress.fannedSeq);
    if (fresh.length === 0) return;
    const target = await this.membersOf(cid);
    if (!target) return; // the conversation is gone: nothing to fan out to
    const senders = new Map<string, number>();
    for (const m of fresh) senders.set(m.sender_id, Math.max(senders.get(m.sender_id) ?? 0, m.seq));
    // A sender has read up to their own message, on every device.
    await this.reads.markReadMany([...senders].map(([userId, seq]) => ({ userId, conversationId: cid, seq })));
    if (target.kind !== 'direct' && target.members.size > this.threshold) return; // fanout on read
    const pending = progress.pending;
    const resumed = pending ? fresh.filter((m) => m.seq >= pending.from && m.seq <= pending.to) : [];
    const rest = fresh.filter((m) => !resumed.includes(m));
    if (resumed.length > 0) await this.write(target.members, resumed, pending!.ts);
    if (rest.length > 0) {
      for (;;) {
        const ts = Date.now();
        await this.inbox.begin(cid, rest[0]!.seq, rest.at(-1)!.seq, ts);
        await this.write(target.members, rest, ts);
        // Too slow to be visible within the readers' look-back: stamp again (readers drop copies by seq).
        if (Date.now() - ts < INBOX_VISIBILITY_MS / 2) break;
      }
    }
    const lastSeq = fresh.at(-1)!.seq;
    this.metrics.markListRows(await this.lists.recordLast(target.members, fresh.at(-1)!));
    await this.inbox.finish(cid, lastSeq);
    this.fanned.set(cid, { fannedSeq: lastSeq });
  }

  private async write(members: Set<string>, messages: ChatMessage[], ts: number): Promise<void> {
    this.metrics.markInboxRows(await this.inbox.append(members, messages, ts));
  }

  private async deadLetter(value: Buffer | null, key: Buffer | null, reason: string, partition: number, offset: string): Promise<void> {
    this.log.error({ reason, partition, offset, conversation_id: key?.toString('utf8').slice(0, 64) }, 'sequenced record dead-lettered');
    await this.dlqProducer.send({
      topic: this.opts.dlqTopic,
      acks: -1,
      messages: [
        {
          key,
          value,
          headers: { 'x-error': reason.slice(0, 500), 'x-source-topic': this.opts.topic, 'x-source-partition': String(partition), 'x-source-offset': offset },
        },
      ],
    });
  }
}

/** Ascending by seq, one message per seq. */
function dedupBySeq(messages: ChatMessage[]): ChatMessage[] {
  const bySeq = new Map<number, ChatMessage>();
  for (const m of messages) bySeq.set(m.seq, m);
  return [...bySeq.values()].sort((a, b) => a.seq - b.seq);
}
