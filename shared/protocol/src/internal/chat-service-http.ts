import type { ChatMessage, ConversationLatest, ConversationSync, Position } from '../frames.js';

/**
 * Internal HTTP API that gateways call on chat-service (JSON, keep-alive).
 * Every request carries header `x-internal-token: <INTERNAL_API_TOKEN>`; the user id is the
 * JWT subject the gateway verified. Errors are `{ error: { code, name, message, retry } }`
 * with the registry's HTTP status.
 */
export const INTERNAL_PATHS = {
  sendBatch: '/internal/v1/send-batch',
  syncBatch: '/internal/v1/sync-batch',
  history: '/internal/v1/history',
  latest: '/internal/v1/latest',
  read: '/internal/v1/read',
  inbox: '/internal/v1/inbox',
  pushState: '/internal/v1/push-state',
} as const;

export const INTERNAL_TOKEN_HEADER = 'x-internal-token';

export interface InternalSendRequest {
  user_id: string;
  conversation_id: string;
  client_msg_id: string;
  body: string;
  /** As in the `send` frame: checked by chat-service (exist, completed, this conversation, this sender). */
  attachment_ids?: string[];
}
export interface InternalSendResponse {
  conversation_id: string;
  client_msg_id: string;
  message_id: string;
  duplicate: boolean;
}

/** Several sends in one request (a gateway coalesces concurrent sends); results are in order. */
export interface InternalSendBatchRequest {
  requests: InternalSendRequest[];
  /**
   * Milliseconds the caller still waits for these answers (the gateway's remaining send deadline).
   * chat-service answers every item within min(this, SEND_DEADLINE_MS); absent: SEND_DEADLINE_MS.
   */
  budget_ms?: number;
}
/** One item's answer in a batch reply: its result, or its own error (as in an error body). */
export type InternalBatchResult<T> = { ok: T } | { error: { code: number; name: string; message: string; retry: boolean; retry_after_ms?: number } };
export type InternalSendResult = InternalBatchResult<InternalSendResponse>;
export interface InternalSendBatchResponse {
  results: InternalSendResult[];
}
export const MAX_SEND_BATCH = 256;

export interface InternalSyncRequest {
  user_id: string;
  positions: Position[];
  /** Byte budget of the reply's messages (the gateway derives it from the socket buffer); none: unbounded. */
  max_bytes?: number;
}
export interface InternalSyncResponse {
  conversations: ConversationSync[];
}

/**
 * Several syncs in one request (a gateway coalesces the resumes of a storm); results are in
 * order. At most MAX_SYNC_BATCH syncs and MAX_SYNC_BATCH_POSITIONS positions in all (a single
 * larger sync travels alone); each conversation's membership and last seq are read once for all.
 */
export interface InternalSyncBatchRequest {
  requests: InternalSyncRequest[];
}
export interface InternalSyncBatchResponse {
  results: InternalBatchResult<InternalSyncResponse>[];
}
export const MAX_SYNC_BATCH = 64;
export const MAX_SYNC_BATCH_POSITIONS = 1024;

export interface InternalHistoryRequest {
  user_id: string;
  conversation_id: string;
  before?: number;
  after?: number;
  limit?: number;
  /** Byte budget of the page's messages; none: unbounded. */
  max_bytes?: number;
}
export interface HistoryPage {
  conversation_id: string;
  messages: ChatMessage[];
  has_more: boolean;
}

/**
 * A read position (the `read` frame): stored monotonic per (user, conversation), then sent as a
 * `receipt` to the reader's devices and, in conversations fanned out on write, to every member.
 */
export interface InternalReadRequest {
  user_id: string;
  conversation_id: string;
  seq: number;
}
export interface InternalReadResponse {
  conversation_id: string;
  /** The position now stored (higher than asked when another device read further). */
  read_seq: number;
}

/** "Everything new for me" (the `inbox` frame); the reply is an EverythingNew page. */
export interface InternalInboxRequest {
  user_id: string;
  cursor?: string;
  /** Byte budget of the page's messages (has_more when cut); none: unbounded. */
  max_bytes?: number;
  /** First pages of large conversations, this many messages each (the `inbox` frame's field). */
  large_first_page?: number;
}

/** Latest seq and epoch of conversations (for the gateway's digest); unknown ids are left out. */
export interface InternalLatestRequest {
  conversation_ids: string[];
}
export interface InternalLatestResponse {
  conversations: ConversationLatest[];
}
export const MAX_LATEST_CONVERSATIONS = 1000;

/**
 * What the notifier needs to decide a push (read state, mute, membership, badge), for several
 * (user, conversation) pairs at once; the notifier calls it once per dispatch round.
 */
export interface InternalPushStateRequest {
  entries: { user_id: string; conversation_id: string }[];
}
export interface PushRecipientState {
  user_id: string;
  conversation_id: string;
  /** Highest seq the user has read in the conversation on any device (0: nothing). */
  read_seq: number;
  muted: boolean;
  /** False once the user left or was removed (or the conversation does not exist): no push. */
  member: boolean;
  /** The user's unread messages over all their conversations (the badge). */
  total_unread: number;
}
/** One state per entry, in the request's order. */
export interface InternalPushStateResponse {
  states: PushRecipientState[];
}
export const MAX_PUSH_STATE_ENTRIES = 500;
