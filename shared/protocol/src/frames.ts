/**
 * Protocol v1: JSON text frames over WebSocket. docs/PROTOCOL.md is the user-facing form of this file.
 * Every client request carries a `ref` that the reply echoes.
 */
export const PROTOCOL_VERSION = 1;

export interface Position {
  conversation_id: string;
  /** Highest seq the client has seen (0 = nothing yet). */
  seq: number;
  /** Epoch the client saw that seq under; a different current epoch means "resync". */
  epoch?: string;
}

/**
 * Requests (sends, syncs, history pages, ...) a connection may have unanswered at once; the gateway
 * refuses the next one with RATE_LIMITED until a reply comes back. Clients keep their own count below it.
 */
export const MAX_REQUESTS_IN_FLIGHT = 32;
/** Sends a client keeps unanswered at most (the SDK's default), leaving the rest for syncs and history. */
export const SENDS_IN_FLIGHT = 24;

/** Most attachments one message may reference. */
export const MAX_ATTACHMENTS_PER_MESSAGE = 10;

/**
 * An attachment as messages carry it: metadata only. The bytes are in object storage; a member
 * gets a short-lived download URL on demand (REST, see attachments.ts).
 */
export interface MessageAttachment {
  attachment_id: string;
  content_type: string;
  /** Bytes. */
  size: number;
  /** Display name given at upload, if any. */
  filename?: string;
}

// ---- client → server ----
export interface SendFrame {
  type: 'send';
  ref: string;
  conversation_id: string;
  client_msg_id: string;
  /** May be blank only when the message has attachments. */
  body: string;
  /**
   * Completed attachments of the sender in this conversation (distinct, at most
   * MAX_ATTACHMENTS_PER_MESSAGE), carried by the message in this order.
   */
  attachment_ids?: string[];
}
export interface SyncFrame {
  type: 'sync';
  ref: string;
  positions: Position[];
}
export interface HistoryFrame {
  type: 'history';
  ref: string;
  conversation_id: string;
  before?: number;
  after?: number;
  limit?: number;
}
export interface TypingFrame {
  type: 'typing';
  ref?: string;
  conversation_id: string;
  state: 'start' | 'stop';
}
export interface ReadFrame {
  type: 'read';
  ref: string;
  conversation_id: string;
  seq: number;
}
export interface PresenceSubFrame {
  type: 'presence.sub' | 'presence.unsub';
  ref: string;
  user_ids: string[];
}
export interface PingFrame {
  type: 'ping';
  ref: string;
}
/**
 * "Everything new for me" (app start, after a resync, a new device): the same request and cursor
 * as REST `GET /v1/inbox`. Omit `cursor` the first time on a device.
 */
export interface InboxFrame {
  type: 'inbox';
  ref: string;
  /** The `cursor` of the previous reply (WebSocket or REST), as given. */
  cursor?: string;
  /**
   * Also return, for every large conversation with messages after the caller's read position, the
   * first page of them: at most this many messages each (1 to LARGE_FIRST_PAGE_MAX), on the page
   * that ends a round (`has_more: false`). Omit it to get only their latest seq.
   */
  large_first_page?: number;
}
/**
 * In-band token refresh: a new access token for the same user, sent on the open connection before
 * the current one expires. Answered with `auth.ok` (the connection now lives until the new `exp`)
 * or an `error` (4008 unauthorized: invalid, expired or another user's; the old token still holds).
 */
export interface AuthFrame {
  type: 'auth';
  ref: string;
  token: string;
}
/** Longest access token accepted (the same bound as the upgrade's). */
export const ACCESS_TOKEN_MAX = 8192;
export const ACCESS_TOKEN_PATTERN = /^[A-Za-z0-9._~+/=-]+$/;
export type ClientFrame = SendFrame | SyncFrame | HistoryFrame | TypingFrame | ReadFrame | PresenceSubFrame | PingFrame | InboxFrame | AuthFrame;
export const CLIENT_FRAME_TYPES = ['send', 'sync', 'history', 'typing', 'read', 'presence.sub', 'presence.unsub', 'ping', 'inbox', 'auth'] as const;

/** Longest inbox cursor a server issues; its characters are base64url. */
export const INBOX_CURSOR_MAX = 512;
export const INBOX_CURSOR_PATTERN = /^[A-Za-z0-9_-]+$/;
/** Largest `large_first_page`: messages of one large conversation in one "everything new" reply. */
export const LARGE_FIRST_PAGE_MAX = 100;
/** Most messages of large conversations in one "everything new" reply, all of them together. */
export const LARGE_FIRST_PAGES_TOTAL_MAX = 500;

// ---- server → client ----
export interface ChatMessage {
  conversation_id: string;
  message_id: string;
  seq: number;
  epoch: string;
  sender_id: string;
  client_msg_id: string;
  body: string;
  /** Milliseconds since the Unix epoch, assigned by the server. */
  created_at: number;
  /** Present only when the message has attachments. */
  attachments?: MessageAttachment[];
}
export interface HelloFrame {
  type: 'hello';
  protocol: number;
  user_id: string;
  connection_id: string;
  gateway_id: string;
}
export interface AckFrame {
  type: 'ack';
  ref: string;
  conversation_id: string;
  client_msg_id: string;
  message_id: string;
  /** True when this client_msg_id had been sent before: no new message was created. */
  duplicate: boolean;
}
export interface MessageFrame extends ChatMessage {
  type: 'message';
}
export interface ConversationSync {
  conversation_id: string;
  epoch: string;
  /** ok: `messages` are everything after the client's seq; resync: reload via history. */
  status: 'ok' | 'resync';
  reason?: 'epoch_changed' | 'too_far_behind' | 'not_member';
  last_seq: number;
  messages: ChatMessage[];
  /**
   * Only with status ok: true when not every missed message fit in this reply (replies are kept
   * below the socket's buffer). Sync again from the last seq in `messages` (or the same seq when
   * `messages` is empty) for the next page.
   */
  has_more?: boolean;
}
export interface SyncResultFrame {
  type: 'sync.result';
  ref: string;
  conversations: ConversationSync[];
}
export interface HistoryResultFrame {
  type: 'history.result';
  ref: string;
  conversation_id: string;
  messages: ChatMessage[];
  has_more: boolean;
}
export interface ErrorFrame {
  type: 'error';
  ref?: string;
  code: number;
  name: string;
  message: string;
  retry: boolean;
  /** Only with 4100 rate_limited: wait at least this long before sending that request again. */
  retry_after_ms?: number;
}
export interface PongFrame {
  type: 'pong';
  ref: string;
}
/** The answer to `auth`: the connection is now authenticated until `expires_at` (ms since the epoch). */
export interface AuthOkFrame {
  type: 'auth.ok';
  ref: string;
  expires_at: number;
}
export interface ReconnectFrame {
  type: 'reconnect';
  reason: 'server_restart';
  /** Suggested delay before reconnecting. */
  after_ms: number;
}
/**
 * Real-time delivery to this connection may have been interrupted (the gateway lost its Redis
 * subscription for a moment): send `sync` with every position, after `after_ms` (spreads the load).
 */
export interface SyncHintFrame {
  type: 'sync.hint';
  reason: 'delivery_interrupted';
  after_ms: number;
}
/** Latest seq of a conversation, as sent in a `digest`. */
export interface ConversationLatest {
  conversation_id: string;
  last_seq: number;
  epoch: string;
}
/**
 * Sent periodically (DELIVERY_DIGEST_INTERVAL_MS) for the conversations this connection used
 * recently: a client whose position is behind `last_seq` in the same epoch missed a real-time
 * message and fills that gap from `history`; one holding another epoch should `sync` it.
 */
export interface DigestFrame {
  type: 'digest';
  conversations: ConversationLatest[];
}
/**
 * A large conversation (fanned out on read) in "everything new": its latest seq and, when the
 * request asked for `large_first_page` and the page ends the round (`has_more: false`), the first
 * page of the messages after the caller's read position (never at or before their join point).
 */
export interface LargeConversationNew extends ConversationLatest {
  /** The position the page starts after (the caller's read position, at least the join point); only with `messages`. */
  after_seq?: number;
  /** Ascending seq from `after_seq + 1`, at most `large_first_page`; only when `last_seq > after_seq`. */
  messages?: ChatMessage[];
  /** With `messages`: true when messages after the page's last (or after `after_seq`, when it is empty) remain; `sync` from there. */
  has_more?: boolean;
}
/**
 * "Everything new for me", one page (REST `GET /v1/inbox` and the `inbox.result` frame alike).
 * `messages`: of the caller's conversations fanned out on write, in inbox order (oldest stamp first,
 * then conversation and seq); a page may repeat messages an earlier one returned (drop by
 * conversation and seq). `large`: the latest seq of every conversation fanned out on read, to `sync`
 * from the client's own positions. `has_more`: ask again at once with `cursor`.
 */
export interface EverythingNew {
  messages: ChatMessage[];
  large: LargeConversationNew[];
  /** Pass back as `cursor` next time (keep it across app restarts). */
  cursor: string;
  has_more: boolean;
}
export interface InboxResultFrame extends EverythingNew {
  type: 'inbox.result';
  ref: string;
}
export interface TypingEventFrame {
  type: 'typing';
  conversation_id: string;
  user_id: string;
  state: 'start' | 'stop';
}
export interface PresenceEventFrame {
  type: 'presence';
  ref?: string;
  users: { user_id: string; online: boolean; last_seen?: number }[];
}
export interface ReceiptFrame {
  type: 'receipt';
  ref?: string;
  conversation_id: string;
  user_id: string;
  seq: number;
}
export type ServerFrame =
  | HelloFrame
  | AckFrame
  | MessageFrame
  | SyncResultFrame
  | HistoryResultFrame
  | InboxResultFrame
  | ErrorFrame
  | PongFrame
  | AuthOkFrame
  | ReconnectFrame
  | SyncHintFrame
  | DigestFrame
  | TypingEventFrame
  | PresenceEventFrame
  | ReceiptFrame;
