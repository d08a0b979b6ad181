import type { ErrorFrame } from '@chat/protocol';

/**
 * A request the server refused with an `error` frame. `name` is the registry name (e.g. 'not_member'),
 * `code` the registry code, `retry` whether the same request may succeed later, `retryAfterMs`
 * (rate_limited only) how long to wait at least before it can.
 */
export class ChatRequestError extends Error {
  readonly code: number;
  readonly retry: boolean;
  readonly ref: string | undefined;
  readonly retryAfterMs: number | undefined;

  constructor(frame: Pick<ErrorFrame, 'code' | 'name' | 'message' | 'retry' | 'ref' | 'retry_after_ms'>) {
    super(frame.message);
    this.name = frame.name;
    this.code = frame.code;
    this.retry = frame.retry;
    this.ref = frame.ref;
    this.retryAfterMs = typeof frame.retry_after_ms === 'number' && frame.retry_after_ms > 0 ? frame.retry_after_ms : undefined;
  }
}

/** The object store refused or failed an attachment upload or download (HTTP `status`; 403 for an expired or altered URL). */
export class AttachmentTransferError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'AttachmentTransferError';
  }
}

/** The delay before retrying after `err`: the backoff, or the server's retry-after hint when longer. */
export function retryDelay(err: unknown, backoffMs: number): number {
  return err instanceof ChatRequestError && err.retryAfterMs !== undefined ? Math.max(backoffMs, err.retryAfterMs) : backoffMs;
}

/** No reply arrived within the request's timeout. Retrying may succeed. */
export class ChatTimeoutError extends Error {
  readonly retry = true;
  constructor(
    readonly requestType: string,
    readonly timeoutMs: number,
  ) {
    super(`${requestType} request timed out after ${timeoutMs} ms`);
    this.name = 'ChatTimeoutError';
  }
}

/** The connection dropped (or failed) before a reply arrived. The client reconnects on its own. */
export class ChatConnectionError extends Error {
  readonly retry = true;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ChatConnectionError';
  }
}

/**
 * The client is closed for good: `close()` was called, or the server closed with a code the client
 * must not reconnect after (see CloseCodes). `code` is the WebSocket close code.
 */
export class ChatClosedError extends Error {
  readonly retry = false;
  constructor(
    readonly code: number,
    readonly reason: string,
  ) {
    super(`chat client closed (${code}${reason ? `: ${reason}` : ''})`);
    this.name = 'ChatClosedError';
  }
}

/**
 * A gap in a conversation's seq could not be filled from history after repeated attempts; the client
 * skipped `fromSeq..toSeq` so delivery does not stall. The app may reload history for that range.
 */
export class ChatGapError extends Error {
  constructor(
    readonly conversationId: string,
    readonly fromSeq: number,
    readonly toSeq: number,
  ) {
    super(`could not fill seq ${fromSeq}..${toSeq} of conversation ${conversationId}; skipped`);
    this.name = 'ChatGapError';
  }
}
