import type { HistoryFrame, InboxFrame, SyncFrame } from '@chat/protocol';
import type { WebSocket } from './uws.js';

/** A reply waiting for room in its socket's send buffer (reply-writer.ts). */
export interface DeferredReply {
  text: string;
  bytes: number;
  /** Runs once the reply is written, or dropped because the socket closed. */
  done: (() => void) | undefined;
}

/** What the gateway keeps per WebSocket (uWS `getUserData()`). */
export interface SocketData {
  userId: string;
  connectionId: string;
  /** Token expiry, ms since the Unix epoch. */
  expiresAt: number;
  /** Set in the close handler; nothing may touch the socket afterwards. */
  closed: boolean;
  /** Invalid frames in the current window (see InvalidFrameCounter). */
  invalidFrames: number;
  invalidWindowStart: number;
  /** Requests in flight to chat-service, counted until their reply is written to the socket. */
  inflight: number;
  /** Frames in the current RATE_FRAMES_PER_CONNECTION window (see takeFrame). */
  frames: number;
  frameWindowStart: number;
  /** Position in the gateway's token-expiry queue (TokenExpiry); -1 when not queued. */
  expiryIndex: number;
  /** A slow consumer: nothing more is written; closed with 4400 once its backlog drained. */
  slow: boolean;
  /** Replies waiting for room in the send buffer, oldest first (undefined when none). */
  deferred: DeferredReply[] | undefined;
  /** sync/history requests sent to chat-service whose reply is not written yet. */
  readsInFlight: number;
  /** sync/history requests waiting for `readsInFlight` to fall (undefined when none). */
  waitingReads: (SyncFrame | HistoryFrame | InboxFrame)[] | undefined;
  /** Conversations this socket used recently → when (ms), for the digest (conversation-activity.ts). */
  active: Map<string, number> | undefined;
}

export type GatewaySocket = WebSocket<SocketData>;

export function newSocketData(userId: string, connectionId: string, expiresAt: number): SocketData {
  return {
    userId,
    connectionId,
    expiresAt,
    closed: false,
    invalidFrames: 0,
    invalidWindowStart: 0,
    inflight: 0,
    frames: 0,
    frameWindowStart: 0,
    expiryIndex: -1,
    slow: false,
    deferred: undefined,
    readsInFlight: 0,
    waitingReads: undefined,
    active: undefined,
  };
}
