/**
 * The one registry of error and close codes. Never write a code inline elsewhere.
 *
 * Ranges:
 *   1000-1999  reserved by RFC 6455 (the gateway sends 1009 "message too big")
 *   4000-4099  request errors sent in an `error` frame; the connection stays open
 *   4100-4199  request errors that are temporary: retrying the same request later may succeed
 *   4400-4499  close codes: the client should reconnect (and resume)
 *   4500-4599  close codes: the client must NOT reconnect without fixing something (e.g. a new token)
 * REST replies carry the same `code` names in `{ error: { code, message, retry } }`.
 */
export interface ErrorDef {
  readonly code: number;
  readonly name: string;
  /** Whether retrying the same action later can succeed. */
  readonly retry: boolean;
  readonly httpStatus: number;
  readonly message: string;
}

function def(code: number, name: string, retry: boolean, httpStatus: number, message: string): ErrorDef {
  return { code, name, retry, httpStatus, message };
}

export const Errors = {
  BAD_FRAME: def(4000, 'bad_frame', false, 400, 'frame is not valid JSON text'),
  UNKNOWN_TYPE: def(4001, 'unknown_type', false, 400, 'unknown frame type'),
  INVALID_SHAPE: def(4002, 'invalid_shape', false, 400, 'frame fields are missing or of the wrong type'),
  NOT_MEMBER: def(4003, 'not_member', false, 403, 'you are not a member of this conversation'),
  NOT_FOUND: def(4004, 'not_found', false, 404, 'not found'),
  BODY_TOO_LARGE: def(4005, 'body_too_large', false, 413, 'message body exceeds the limit'),
  SENDER_MISMATCH: def(4006, 'sender_mismatch', false, 403, 'the sender is the token subject; a different sender field is refused'),
  CONFLICT: def(4007, 'conflict', false, 409, 'the request conflicts with the current state'),
  UNAUTHORIZED: def(4008, 'unauthorized', false, 401, 'missing, invalid or expired token'),
  FORBIDDEN: def(4009, 'forbidden', false, 403, 'not allowed'),
  TOO_MANY_CONNECTIONS: def(4010, 'too_many_connections', false, 429, 'connection limit per user reached'),
  ORIGIN_NOT_ALLOWED: def(4011, 'origin_not_allowed', false, 403, 'Origin is not in the allowlist'),
  CLIENT_MSG_ID_REUSED: def(4012, 'client_msg_id_reused', false, 409, 'client_msg_id was already used for a different message'),
  ATTACHMENT_TYPE_NOT_ALLOWED: def(4013, 'attachment_type_not_allowed', false, 415, 'this content type may not be attached'),
  ATTACHMENT_TOO_LARGE: def(4014, 'attachment_too_large', false, 413, 'attachment exceeds the size limit'),
  ATTACHMENT_NOT_UPLOADED: def(4015, 'attachment_not_uploaded', false, 409, 'the attachment has not been uploaded and completed yet'),
  ATTACHMENT_MISMATCH: def(4016, 'attachment_mismatch', false, 422, 'the uploaded object does not match the declared size and content type; it was discarded'),
  ATTACHMENT_NOT_USABLE: def(4017, 'attachment_not_usable', false, 403, 'no such attachment of yours in this conversation'),

  RATE_LIMITED: def(4100, 'rate_limited', true, 429, 'too many requests, slow down'),
  UNAVAILABLE: def(4101, 'unavailable', true, 503, 'a backend is unavailable, retry later'),
  INTERNAL: def(4102, 'internal', true, 500, 'internal error'),
} as const satisfies Record<string, ErrorDef>;

export type ErrorName = keyof typeof Errors;

/** WebSocket close codes sent by the gateway. */
export const CloseCodes = {
  /** A frame over MAX_FRAME_BYTES (frames over twice that are dropped by uWS itself: the client sees 1006). */
  MESSAGE_TOO_BIG: def(1009, 'message_too_big', false, 0, 'frame exceeds the size limit'),
  SLOW_CONSUMER: def(4400, 'slow_consumer', true, 0, 'send buffer full; reconnect and resume'),
  SERVER_RESTART: def(4401, 'server_restart', true, 0, 'gateway is draining; reconnect (to another gateway) and resume'),
  TOKEN_EXPIRED: def(4500, 'token_expired', false, 0, 'token expired; reconnect with a fresh token'),
  PROTOCOL_VIOLATION: def(4501, 'protocol_violation', false, 0, 'too many invalid frames'),
  /** Twice RATE_FRAMES_PER_CONNECTION within one window: the client kept sending through its 4100 replies. */
  RATE_LIMIT_IGNORED: def(4502, 'rate_limit_ignored', false, 0, 'kept sending far past the frame rate limit; honour retry_after_ms'),
} as const satisfies Record<string, ErrorDef>;

/** The JSON form of a ChatError in REST bodies and internal API replies. */
export interface ChatErrorJson {
  code: number;
  name: string;
  message: string;
  retry: boolean;
  /** Only on RATE_LIMITED: wait at least this long before retrying. */
  retry_after_ms?: number;
}

/** An error that crosses a boundary (REST reply, error frame) with a registry code. */
export class ChatError extends Error {
  constructor(
    readonly def: ErrorDef,
    detail?: string,
    /** When retrying can succeed (RATE_LIMITED): ms until the limit's window resets. */
    readonly retryAfterMs?: number,
  ) {
    super(detail ?? def.message);
    this.name = 'ChatError';
  }

  toJSON(): ChatErrorJson {
    const json: ChatErrorJson = { code: this.def.code, name: this.def.name, message: this.message, retry: this.def.retry };
    if (this.retryAfterMs !== undefined) json.retry_after_ms = this.retryAfterMs;
    return json;
  }
}

/** RATE_LIMITED with its retry-after hint (rounded up to whole ms, at least 1). */
export function rateLimited(retryAfterMs: number, detail?: string): ChatError {
  return new ChatError(Errors.RATE_LIMITED, detail, Math.max(1, Math.ceil(retryAfterMs)));
}

export function errorByName(name: string): ErrorDef | undefined {
  return Object.values(Errors).find((e) => e.name === name);
}
