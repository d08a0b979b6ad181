import { ChatError, Errors, type InternalSendRequest, type InternalSendResponse, type MessageRecord, type SnowflakeIds } from '@chat/shared';
import type { MembershipCache } from '../store/membership-cache.js';
import type { BatchingProducer } from './batching-producer.js';
import { sha256, type IdempotencyRecord, type IdempotencyStore } from './idempotency-store.js';

/**
 * The send path (G1, G5): authorize, deduplicate by client_msg_id, produce to Kafka with acks=all,
 * and only then answer. The seq is assigned downstream by the sequencer, in Kafka order.
 */
export class SendService {
  constructor(
    private readonly membership: MembershipCache,
    private readonly idempotency: IdempotencyStore,
    private readonly producer: BatchingProducer,
    private readonly ids: SnowflakeIds,
    private readonly topic: string,
  ) {}

  async send(req: InternalSendRequest): Promise<InternalSendResponse> {
    if (!(await this.membership.isMember(req.conversation_id, req.user_id))) throw new ChatError(Errors.NOT_MEMBER);
    const fresh: IdempotencyRecord = {
      conversation_id: req.conversation_id,
      message_id: this.ids.next(),
      created_at: Date.now(),
      body_sha256: sha256(req.body),
    };
    const { created, record } = await this.idempotency.reserve(req.user_id, req.client_msg_id, fresh);
    if (!created && (record.conversation_id !== req.conversation_id || record.body_sha256 !== fresh.body_sha256)) {
      throw new ChatError(Errors.CLIENT_MSG_ID_REUSED);
    }
    // A duplicate is produced again (the first attempt may not have reached Kafka, and the ack must
    // mean "in Kafka"); the sequencer drops the second copy by message_id.
    await this.produce(req, record);
    return { conversation_id: req.conversation_id, client_msg_id: req.client_msg_id, message_id: record.message_id, duplicate: !created };
  }

  private async produce(req: InternalSendRequest, record: IdempotencyRecord): Promise<void> {
    const value: MessageRecord = {
      v: 1,
      type: 'message',
      conversation_id: req.conversation_id,
      message_id: record.message_id,
      sender_id: req.user_id,
      client_msg_id: req.client_msg_id,
      body: req.body,
      created_at: record.created_at,
    };
    try {
      await this.producer.send(this.topic, { key: req.conversation_id, value: JSON.stringify(value) });
    } catch {
      throw new ChatError(Errors.UNAVAILABLE, 'message log unavailable; retry with the same client_msg_id');
    }
  }
}
