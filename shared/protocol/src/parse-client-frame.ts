import { ChatError, Errors } from './errors.js';
import { reqId } from './canonical-id.js';
import {
  ACCESS_TOKEN_MAX,
  ACCESS_TOKEN_PATTERN,
  INBOX_CURSOR_MAX,
  INBOX_CURSOR_PATTERN,
  LARGE_FIRST_PAGE_MAX,
  MAX_ATTACHMENTS_PER_MESSAGE,
  type ClientFrame,
  type Position,
} from './frames.js';
import { exceedsUtf8Bytes } from './utf8.js';
import { CLIENT_MSG_ID_PATTERN, ShapeError, USER_ID_PATTERN, isObject, optInt, optString, reqArray, reqEnum, reqInt, reqString, type Obj } from './validate.js';

export interface FrameLimits {
  /** Largest body in UTF-8 bytes. */
  maxBodyBytes: number;
}

const REF_MAX = 64;
const MAX_SEQ = Number.MAX_SAFE_INTEGER;
const MAX_POSITIONS = 1000;
const MAX_PRESENCE_USERS = 500;

/** The `ref` of a frame if it has a usable one, so errors can echo it. */
export function refOf(value: unknown): string | undefined {
  if (!isObject(value)) return undefined;
  const ref = value.ref;
  return typeof ref === 'string' && ref.length > 0 && ref.length <= REF_MAX ? ref : undefined;
}

export function parsePosition(value: unknown): Position {
  if (!isObject(value)) throw new ShapeError('positions[]', 'must be an object');
  const epoch = optString(value, 'epoch', 32);
  return {
    conversation_id: reqId(value, 'conversation_id'),
    seq: reqInt(value, 'seq', 0, MAX_SEQ),
    ...(epoch !== undefined ? { epoch } : {}),
  };
}

/**
 * The optional `attachment_ids` of a send: distinct canonical ids, at most
 * MAX_ATTACHMENTS_PER_MESSAGE. An empty list is the same as none (undefined).
 */
export function parseAttachmentIds(o: Obj): string[] | undefined {
  if (o.attachment_ids === undefined) return undefined;
  const ids = reqArray(o, 'attachment_ids', MAX_ATTACHMENTS_PER_MESSAGE).map((v) => reqId({ 'attachment_ids[]': v }, 'attachment_ids[]'));
  if (new Set(ids).size !== ids.length) throw new ShapeError('attachment_ids', 'must not repeat an id');
  return ids.length > 0 ? ids : undefined;
}

/** A message body: at most `maxBodyBytes`; blank only when the message has attachments. */
export function parseBody(o: Obj, maxBodyBytes: number, hasAttachments: boolean): string {
  const body = o.body;
  if (typeof body !== 'string') throw new ShapeError('body', 'must be a string');
  if (exceedsUtf8Bytes(body, maxBodyBytes)) throw new ChatError(Errors.BODY_TOO_LARGE);
  if (!hasAttachments && body.trim().length === 0) throw new ShapeError('body', 'must not be blank (without attachments)');
  return body;
}

function parseSend(o: Obj, ref: string, limits: FrameLimits): ClientFrame {
  const attachmentIds = parseAttachmentIds(o);
  const body = parseBody(o, limits.maxBodyBytes, attachmentIds !== undefined);
  return {
    type: 'send',
    ref,
    conversation_id: reqId(o, 'conversation_id'),
    client_msg_id: reqString(o, 'client_msg_id', 64, CLIENT_MSG_ID_PATTERN),
    body,
    ...(attachmentIds ? { attachment_ids: attachmentIds } : {}),
  };
}

function parseHistory(o: Obj, ref: string): ClientFrame {
  const before = optInt(o, 'before', 1, MAX_SEQ);
  const after = optInt(o, 'after', 0, MAX_SEQ);
  // Any positive limit: the server caps it at HISTORY_MAX_LIMIT, as REST does.
  const limit = optInt(o, 'limit', 1, MAX_SEQ);
  return {
    type: 'history',
    ref,
    conversation_id: reqId(o, 'conversation_id'),
    ...(before !== undefined ? { before } : {}),
    ...(after !== undefined ? { after } : {}),
    ...(limit !== undefined ? { limit } : {}),
  };
}

function parseUserIds(o: Obj): string[] {
  return reqArray(o, 'user_ids', MAX_PRESENCE_USERS).map((u) => {
    if (typeof u !== 'string' || !USER_ID_PATTERN.test(u)) throw new ShapeError('user_ids[]', 'must be user ids');
    return u;
  });
}

/**
 * Validates one decoded client frame. The identity of the sender is never read from a frame:
 * a `sender`/`sender_id` field that differs from the authenticated user is refused.
 * Throws ChatError with a registry code; never anything else.
 */
export function parseClientFrame(value: unknown, userId: string, limits: FrameLimits): ClientFrame {
  if (!isObject(value)) throw new ChatError(Errors.INVALID_SHAPE, 'frame must be a JSON object');
  const type = value.type;
  if (typeof type !== 'string') throw new ChatError(Errors.INVALID_SHAPE, 'type: must be a string');
  for (const field of ['sender', 'sender_id', 'user_id'] as const) {
    if (value[field] !== undefined && value[field] !== userId) throw new ChatError(Errors.SENDER_MISMATCH);
  }
  try {
    if (type === 'typing') {
      const ref = optString(value, 'ref', REF_MAX);
      return {
        type,
        ...(ref !== undefined ? { ref } : {}),
        conversation_id: reqId(value, 'conversation_id'),
        state: reqEnum(value, 'state', ['start', 'stop']),
      };
    }
    const ref = reqString(value, 'ref', REF_MAX);
    switch (type) {
      case 'send':
        return parseSend(value, ref, limits);
      case 'sync':
        return { type, ref, positions: reqArray(value, 'positions', MAX_POSITIONS).map(parsePosition) };
      case 'history':
        return parseHistory(value, ref);
      case 'read':
        return {
          type,
          ref,
          conversation_id: reqId(value, 'conversation_id'),
          seq: reqInt(value, 'seq', 0, MAX_SEQ),
        };
      case 'presence.sub':
      case 'presence.unsub':
        return { type, ref, user_ids: parseUserIds(value) };
      case 'ping':
        return { type, ref };
      case 'auth':
        return { type, ref, token: reqString(value, 'token', ACCESS_TOKEN_MAX, ACCESS_TOKEN_PATTERN) };
      case 'inbox': {
        const cursor = optString(value, 'cursor', INBOX_CURSOR_MAX, INBOX_CURSOR_PATTERN);
        const largeFirstPage = optInt(value, 'large_first_page', 1, LARGE_FIRST_PAGE_MAX);
        return { type, ref, ...(cursor !== undefined ? { cursor } : {}), ...(largeFirstPage !== undefined ? { large_first_page: largeFirstPage } : {}) };
      }
      default:
        throw new ChatError(Errors.UNKNOWN_TYPE, `unknown frame type "${type.slice(0, 32)}"`);
    }
  } catch (err) {
    if (err instanceof ShapeError) throw new ChatError(Errors.INVALID_SHAPE, err.message);
    throw err;
  }
}

/** Decodes a text frame; malformed JSON is BAD_FRAME. */
export function decodeFrame(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ChatError(Errors.BAD_FRAME);
  }
}
