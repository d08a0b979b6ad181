import { ChatError, Errors, type MessageAttachment } from '@chat/protocol';
import type { InternalSendRequest, InternalSendResponse, MessageRecord } from '@chat/protocol/internal';
import type { SnowflakeIds } from '@chat/server/ids';
import type { AttachmentService } from '../attachments/attachment-service.js';
import type { MembershipCache } from '../store/membership-cache.js';
import type { SequencedSendStore } from '../store/sequenced-send-store.js';
import type { BatchingProducer } from './batching-producer.js';
import type { IdempotencyCoverage } from './idempotency-coverage.js';
import { contentHash, type CompletenessMarker, type IdempotencyRecord, type IdempotencyStore } from './idempotency-store.js';

/** What the send path times (chat_send_stage_seconds). */
export interface SendMetrics {
  observeSendStage(stage: 'checks' | 'produce' | 'total', seconds: number): void;
}

/** G5's window: a client_msg_id names one message of its sender for this long. */
const IDEMPOTENCY_WINDOW_MS = 24 * 3600 * 1000;

/**
 * The send path (G1, G5): authorize, deduplicate by client_msg_id, produce to Kafka with acks=all,
 * and only then answer. The seq is assigned downstream by the sequencer, in Kafka order.
 * Deduplication: Redis is the fast path. A client_msg_id Redis does not know is a first send when
 * Redis vouches for every record of the sender within the window (`coverage`); the record is then
 * marked `first_send` and neither side reads durable storage. Otherwise it is looked up in the
 * sequencer's durable record (`durableSends`) of the conversation, so a resend after Redis lost
 * its data still gets the original message_id, and a reuse with another body still gets 4012.
 */
export class SendService {
  constructor(
    private readonly membership: MembershipCache,
    private readonly idempotency: IdempotencyStore,
    private readonly producer: BatchingProducer,
    private readonly ids: SnowflakeIds,
    private readonly topic: string,
    private readonly durableSends: Pick<SequencedSendStore, 'find'> | null = null,
    private readonly coverage: IdempotencyCoverage | null = null,
    /** Checks the attachments a send references; null: sends with attachments are refused. */
    private readonly attachments: Pick<AttachmentService, 'forMessage'> | null = null,
    private readonly metrics: SendMetrics | null = null,
  ) {}

  /** `deadline` (epoch ms): a record not handed to Kafka by then is never produced (4101). */
  async send(req: InternalSendRequest, deadline: number): Promise<InternalSendResponse> {
    const started = performance.now();
    if (!(await this.membership.isMember(req.conversation_id, req.user_id))) throw new ChatError(Errors.NOT_MEMBER);
    const attachments = await this.checkedAttachments(req);
    const fresh: IdempotencyRecord = {
      conversation_id: req.conversation_id,
      message_id: this.ids.next(),
      created_at: Date.now(),
      body_sha256: contentHash(req.body, req.attachment_ids),
    };
    let { created, record, marker } = await this.idempotency.reserve(req.user_id, req.client_msg_id, fresh);
    const firstSend = created && (await this.isCovered(req.user_id, marker, fresh.created_at));
    if (created && !firstSend) {
      const stored = await this.storedEarlier(req, fresh);
      if (stored) {
        // Redis had lost it: the sequencer's durable record is the truth; put it back in Redis.
        [created, record] = [false, stored];
        await this.idempotency.replace(req.user_id, req.client_msg_id, stored);
      }
    }
    if (!created && (record.conversation_id !== req.conversation_id || record.body_sha256 !== fresh.body_sha256)) {
      throw new ChatError(Errors.CLIENT_MSG_ID_REUSED);
    }
    // A duplicate is produced again (the first attempt may not have reached Kafka, and the ack must
    // mean "in Kafka"); the sequencer drops the second copy by message_id.
    const checked = performance.now();
    this.metrics?.observeSendStage('checks', (checked - started) / 1000);
    await this.produce(req, record, firstSend, attachments, deadline);
    this.metrics?.observeSendStage('produce', (performance.now() - checked) / 1000);
    return { conversation_id: req.conversation_id, client_msg_id: req.client_msg_id, message_id: record.message_id, duplicate: !created };
  }

  private async isCovered(userId: string, marker: CompletenessMarker | null, now: number): Promise<boolean> {
    if (!this.coverage) return false;
    try {
      return await this.coverage.covers(userId, marker, now);
    } catch {
      throw new ChatError(Errors.UNAVAILABLE, 'message store unavailable; retry with the same client_msg_id');
    }
  }

  /** The message this (sender, client_msg_id) already names in the conversation within G5's window, from durable storage. */
  private async storedEarlier(req: InternalSendRequest, fresh: IdempotencyRecord): Promise<IdempotencyRecord | null> {
    if (!this.durableSends) return null;
    let rows;
    try {
      rows =
        (await this.durableSends.find(req.conversation_id, [{ sender_id: req.user_id, client_msg_id: req.client_msg_id, created_at: fresh.created_at }]))
          .values()
          .next().value ?? [];
    } catch {
      throw new ChatError(Errors.UNAVAILABLE, 'message store unavailable; retry with the same client_msg_id');
    }
    const recent = rows.filter((r) => fresh.created_at - r.created_at <= IDEMPOTENCY_WINDOW_MS).sort((a, b) => a.created_at - b.created_at);
    const match = recent.find((r) => r.body_sha256 === fresh.body_sha256) ?? recent[0];
    return match ? { conversation_id: req.conversation_id, message_id: match.message_id, created_at: match.created_at, body_sha256: match.body_sha256 } : null;
  }

  /** The metadata of the referenced attachments, checked again on every (re)send. */
  private async checkedAttachments(req: InternalSendRequest): Promise<MessageAttachment[] | undefined> {
    if (!req.attachment_ids || req.attachment_ids.length === 0) return undefined;
    if (!this.attachments) throw new ChatError(Errors.ATTACHMENT_NOT_USABLE, 'attachments are not enabled');
    return this.attachments.forMessage(req.user_id, req.conversation_id, req.attachment_ids);
  }

  private async produce(
    req: InternalSendRequest,
    record: IdempotencyRecord,
    firstSend: boolean,
    attachments: MessageAttachment[] | undefined,
    deadline: number,
  ): Promise<void> {
    const value: MessageRecord = {
      v: 1,
      type: 'message',
      conversation_id: req.conversation_id,
      message_id: record.message_id,
      sender_id: req.user_id,
      client_msg_id: req.client_msg_id,
      body: req.body,
      created_at: record.created_at,
      ...(firstSend ? { first_send: true as const } : {}),
      ...(attachments ? { attachments } : {}),
    };
    try {
      await this.producer.send(this.topic, { key: req.conversation_id, value: JSON.stringify(value) }, deadline);
    } catch (err) {
      // The producer says whether the record was certainly not written or its outcome is unknown.
      if (err instanceof ChatError) throw err;
      throw new ChatError(Errors.UNAVAILABLE, 'message log unavailable; retry with the same client_msg_id');
    }
  }
}
