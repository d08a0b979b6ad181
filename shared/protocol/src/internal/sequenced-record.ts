import { reqId } from '../canonical-id.js';
import type { ChatMessage } from '../frames.js';
import { parseMessageAttachments } from '../message-attachments.js';
import { CLIENT_MSG_ID_PATTERN, USER_ID_PATTERN, ShapeError, isObject, reqInt, reqString } from '../validate.js';
import type { SequencedRecord } from './kafka-records.js';

/** Largest body a sequenced record may carry (the send path enforces the configured, smaller limit). */
const MAX_RECORD_BODY = 1024 * 1024;
const EPOCH_PATTERN = /^[0-9a-z]{1,32}$/;

/** The record value for one stored message (see SequencedRecord). */
export function encodeSequencedRecord(message: ChatMessage): string {
  const record: SequencedRecord = { v: 1, type: 'sequenced', message };
  return JSON.stringify(record);
}

/**
 * Parses a sequenced record value (its JSON text, or the value already decoded). Throws ShapeError
 * (or SyntaxError) on anything malformed or non-canonical: such a record can never be processed
 * (dead-letter it).
 */
export function parseSequencedRecord(value: unknown): SequencedRecord {
  const o: unknown = typeof value === 'string' ? JSON.parse(value) : value;
  if (!isObject(o) || o.v !== 1 || o.type !== 'sequenced') throw new ShapeError('type', 'not a v1 sequenced record');
  return { v: 1, type: 'sequenced', message: parseStoredMessage(o.message) };
}

/** A stored message as servers pass it around: canonical ids, seq from 1, every field present. */
export function parseStoredMessage(value: unknown): ChatMessage {
  if (!isObject(value)) throw new ShapeError('message', 'must be an object');
  const body = value.body;
  if (typeof body !== 'string' || body.length > MAX_RECORD_BODY) throw new ShapeError('body', 'must be a string');
  return {
    conversation_id: reqId(value, 'conversation_id'),
    message_id: reqId(value, 'message_id'),
    seq: reqInt(value, 'seq', 1, Number.MAX_SAFE_INTEGER),
    epoch: reqString(value, 'epoch', 32, EPOCH_PATTERN),
    sender_id: reqString(value, 'sender_id', 128, USER_ID_PATTERN),
    client_msg_id: reqString(value, 'client_msg_id', 64, CLIENT_MSG_ID_PATTERN),
    body,
    created_at: reqInt(value, 'created_at', 0, Number.MAX_SAFE_INTEGER),
    ...(value.attachments !== undefined ? { attachments: parseMessageAttachments(value.attachments) } : {}),
  };
}
