import type { ChatMessage, MessageAttachment } from '../frames.js';

/** The Kafka record on chat.messages (value JSON, key = conversation_id). */
export interface MessageRecord {
  v: 1;
  type: 'message';
  conversation_id: string;
  message_id: string;
  sender_id: string;
  client_msg_id: string;
  body: string;
  created_at: number;
  /**
   * Set by the send path when it proved this is the first send of its (sender, client_msg_id)
   * within G5's window (Redis held every idempotency record of the sender for the whole window):
   * the sequencer may then skip its durable dedup lookup. Absent: the sequencer checks.
   */
  first_send?: true;
  /** The attachments' metadata as checked at send time; absent when none. */
  attachments?: MessageAttachment[];
}

/**
 * The Kafka record on the sequenced stream (KAFKA_TOPIC_SEQUENCED, default `chat.messages.sequenced`;
 * value JSON, key = conversation_id). The sequencer publishes every stored message, in seq order
 * per conversation, with acks=all, before it commits the offsets of the records it came from: a
 * crash publishes some again, so consumers drop what they already handled by (conversation_id, seq).
 * Validate with parseSequencedRecord (sequenced-record.ts).
 */
export interface SequencedRecord {
  v: 1;
  type: 'sequenced';
  /** Exactly as clients get it in a `message` frame (without `type`). */
  message: ChatMessage;
}
