import { CLIENT_MSG_ID_PATTERN, USER_ID_PATTERN, isObject, parseMessageAttachments, reqId, reqInt, reqString } from '@chat/protocol';
import type { MessageRecord } from '@chat/protocol/internal';

/** Largest body a record may carry; the send path enforces the configured, smaller limit. */
const MAX_RECORD_BODY = 1024 * 1024;

/** Parses a chat.messages record value; throws (non-retriable) on anything malformed or non-canonical. */
export function decodeMessageRecord(value: Buffer | null): MessageRecord {
  if (!value) throw new Error('empty record');
  const o: unknown = JSON.parse(value.toString('utf8'));
  if (!isObject(o) || o.v !== 1 || o.type !== 'message') throw new Error('not a v1 message record');
  const body = o.body;
  if (typeof body !== 'string' || body.length > MAX_RECORD_BODY) throw new Error('body: must be a string');
  return {
    v: 1,
    type: 'message',
    // Canonical ids only: a record naming an alias of a conversation must never reach storage.
    conversation_id: reqId(o, 'conversation_id'),
    message_id: reqId(o, 'message_id'),
    sender_id: reqString(o, 'sender_id', 128, USER_ID_PATTERN),
    client_msg_id: reqString(o, 'client_msg_id', 64, CLIENT_MSG_ID_PATTERN),
    body,
    created_at: reqInt(o, 'created_at', 0, Number.MAX_SAFE_INTEGER),
    ...(o.first_send === true ? { first_send: true as const } : {}),
    ...(o.attachments !== undefined ? { attachments: parseMessageAttachments(o.attachments) } : {}),
  };
}
