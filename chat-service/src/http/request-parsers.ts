import {
  CLIENT_MSG_ID_PATTERN,
  ChatError,
  INBOX_CURSOR_MAX,
  INBOX_CURSOR_PATTERN,
  Errors,
  LARGE_FIRST_PAGE_MAX,
  ShapeError,
  USER_ID_PATTERN,
  isObject,
  optInt,
  optString,
  parseAttachmentIds,
  parseBody,
  parseCanonicalId,
  parsePosition,
  reqArray,
  reqEnum,
  reqId,
  reqInt,
  reqString,
  type Obj,
} from '@chat/protocol';
import {
  MAX_LATEST_CONVERSATIONS,
  MAX_PUSH_STATE_ENTRIES,
  type InternalHistoryRequest,
  type InternalPushStateRequest,
  type InternalInboxRequest,
  type InternalLatestRequest,
  type InternalReadRequest,
  type InternalSendRequest,
  type InternalSyncRequest,
} from '@chat/protocol/internal';

/** Runs a parser; shape problems become INVALID_SHAPE with the field named. */
export function parseWith<T>(value: unknown, parse: (o: Obj) => T): T {
  if (!isObject(value)) throw new ChatError(Errors.INVALID_SHAPE, 'body must be a JSON object');
  try {
    return parse(value);
  } catch (err) {
    if (err instanceof ShapeError) throw new ChatError(Errors.INVALID_SHAPE, err.message);
    throw err;
  }
}

function userIds(o: Obj, field: string, max: number): string[] {
  return reqArray(o, field, max).map((u) => {
    if (typeof u !== 'string' || !USER_ID_PATTERN.test(u)) throw new ShapeError(`${field}[]`, 'must be user ids');
    return u;
  });
}

export type CreateConversationBody = { kind: 'direct'; user_id: string } | { kind: 'group'; title: string | null; member_ids: string[] };

export function parseCreateConversation(o: Obj, maxMembers: number): CreateConversationBody {
  const kind = reqEnum(o, 'kind', ['direct', 'group']);
  if (kind === 'direct') return { kind, user_id: reqString(o, 'user_id', 128, USER_ID_PATTERN) };
  return { kind, title: optString(o, 'title', 200) ?? null, member_ids: userIds(o, 'member_ids', maxMembers) };
}

export function parseAddMembers(o: Obj, maxMembers: number): string[] {
  return userIds(o, 'user_ids', maxMembers);
}

/** Optional non-negative integer query parameter. */
export function queryInt(query: URLSearchParams, name: string, min: number): number | undefined {
  const raw = query.get(name);
  if (raw === null) return undefined;
  if (!/^\d{1,15}$/.test(raw) || Number(raw) < min) throw new ChatError(Errors.INVALID_SHAPE, `${name}: must be an integer ≥ ${min}`);
  return Number(raw);
}

/** A conversation id from a REST path: anything but the canonical form names no conversation (404). */
export function conversationIdParam(raw: string | undefined): string {
  const id = parseCanonicalId(raw);
  if (id === undefined) throw new ChatError(Errors.NOT_FOUND, 'no such conversation');
  return id;
}

/** The same rules as the `send` frame (parseAttachmentIds, parseBody), plus the user the gateway verified. */
export function parseInternalSend(o: Obj, maxBodyBytes: number): InternalSendRequest {
  const attachmentIds = parseAttachmentIds(o);
  const body = parseBody(o, maxBodyBytes, attachmentIds !== undefined);
  return {
    user_id: reqString(o, 'user_id', 128, USER_ID_PATTERN),
    conversation_id: reqId(o, 'conversation_id'),
    client_msg_id: reqString(o, 'client_msg_id', 64, CLIENT_MSG_ID_PATTERN),
    body,
    ...(attachmentIds ? { attachment_ids: attachmentIds } : {}),
  };
}

/** Smallest and largest reply byte budget a gateway may ask for. */
const MAX_BYTES_RANGE = [1024, 2 ** 31 - 1] as const;

export function parseInternalSync(o: Obj): InternalSyncRequest {
  const maxBytes = optInt(o, 'max_bytes', ...MAX_BYTES_RANGE);
  return {
    user_id: reqString(o, 'user_id', 128, USER_ID_PATTERN),
    positions: reqArray(o, 'positions', 1000).map(parsePosition),
    ...(maxBytes !== undefined ? { max_bytes: maxBytes } : {}),
  };
}

export function parseInternalRead(o: Obj): InternalReadRequest {
  return {
    user_id: reqString(o, 'user_id', 128, USER_ID_PATTERN),
    conversation_id: reqId(o, 'conversation_id'),
    seq: reqInt(o, 'seq', 0, Number.MAX_SAFE_INTEGER),
  };
}

export function parseInternalHistory(o: Obj): InternalHistoryRequest {
  const out: InternalHistoryRequest = {
    user_id: reqString(o, 'user_id', 128, USER_ID_PATTERN),
    conversation_id: reqId(o, 'conversation_id'),
  };
  for (const field of ['before', 'after', 'limit'] as const) {
    const v = o[field];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < (field === 'after' ? 0 : 1)) throw new ShapeError(field, 'must be a positive integer');
    out[field] = v === 0 ? 0 : v; // -0 is 0
  }
  const maxBytes = optInt(o, 'max_bytes', ...MAX_BYTES_RANGE);
  if (maxBytes !== undefined) out.max_bytes = maxBytes;
  return out;
}

export function parseInternalInbox(o: Obj): InternalInboxRequest {
  const cursor = optString(o, 'cursor', INBOX_CURSOR_MAX, INBOX_CURSOR_PATTERN);
  const maxBytes = optInt(o, 'max_bytes', ...MAX_BYTES_RANGE);
  const largeFirstPage = optInt(o, 'large_first_page', 1, LARGE_FIRST_PAGE_MAX);
  return {
    user_id: reqString(o, 'user_id', 128, USER_ID_PATTERN),
    ...(cursor !== undefined ? { cursor } : {}),
    ...(maxBytes !== undefined ? { max_bytes: maxBytes } : {}),
    ...(largeFirstPage !== undefined ? { large_first_page: largeFirstPage } : {}),
  };
}

export function parseInternalLatest(o: Obj): InternalLatestRequest {
  const ids = reqArray(o, 'conversation_ids', MAX_LATEST_CONVERSATIONS).map((v) => {
    const id = parseCanonicalId(v);
    if (id === undefined) throw new ShapeError('conversation_ids[]', 'must be canonical conversation ids');
    return id;
  });
  return { conversation_ids: ids };
}

export function parseInternalPushState(o: Obj): InternalPushStateRequest {
  const entries = reqArray(o, 'entries', MAX_PUSH_STATE_ENTRIES).map((e) => {
    if (!isObject(e)) throw new ShapeError('entries[]', 'must be objects');
    return { user_id: reqString(e, 'user_id', 128, USER_ID_PATTERN), conversation_id: reqId(e, 'conversation_id') };
  });
  return { entries };
}
