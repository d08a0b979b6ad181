import type { RateLimit } from '@chat/server/config';
import type { SocketData } from '../transport/socket-data.js';

/**
 * A connection that sends this many times RATE_FRAMES_PER_CONNECTION within one window kept going
 * after a window's worth of 4100 replies: it ignores the limit and is closed (RATE_LIMIT_IGNORED),
 * because even a refused frame costs the gateway a decode, a parse and a reply.
 */
export const IGNORED_LIMIT_FACTOR = 2;

/**
 * Counts one frame in the connection's fixed window (RATE_FRAMES_PER_CONNECTION): 0 when within
 * the limit, else ms until the window ends. Refused frames count too (see ignoresFrameLimit).
 * Two numbers on the socket, no allocation, no timer.
 */
export function takeFrame(data: SocketData, now: number, limit: RateLimit): number {
  const windowMs = limit.durationSeconds * 1000;
  if (now - data.frameWindowStart >= windowMs) {
    data.frameWindowStart = now;
    data.frames = 0;
  }
  data.frames += 1;
  if (data.frames <= limit.points) return 0;
  return Math.max(1, data.frameWindowStart + windowMs - now);
}

/** Whether the connection sent IGNORED_LIMIT_FACTOR times its frame limit in the current window. */
export function ignoresFrameLimit(data: SocketData, limit: RateLimit): boolean {
  return data.frames > limit.points * IGNORED_LIMIT_FACTOR;
}

/** When the connection's current frame window ends (ms since the Unix epoch). */
export function frameWindowEnd(data: SocketData, limit: RateLimit): number {
  return data.frameWindowStart + limit.durationSeconds * 1000;
}
