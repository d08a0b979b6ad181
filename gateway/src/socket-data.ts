import type { WebSocket } from './uws.js';

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
  /** Requests in flight to chat-service. */
  inflight: number;
  expiryTimer: NodeJS.Timeout | undefined;
}

export type GatewaySocket = WebSocket<SocketData>;

export function newSocketData(userId: string, connectionId: string, expiresAt: number): SocketData {
  return { userId, connectionId, expiresAt, closed: false, invalidFrames: 0, invalidWindowStart: 0, inflight: 0, expiryTimer: undefined };
}

/** uWS topic for local fanout to every socket of one user. */
export function userTopic(userId: string): string {
  return `u:${userId}`;
}
