import type { RateLimit } from '@chat/shared';
import type { SocketData } from './socket-data.js';

/**
 * Counts one frame in the connection's fixed window (RATE_FRAMES_PER_CONNECTION): 0 when within
 * the limit, else ms until the window ends. Two numbers on the socket, no allocation, no timer.
 */
export function takeFrame(data: SocketData, now: number, limit: RateLimit): number {
  const windowMs = limit.durationSeconds * 1000;
  if (now - data.frameWindowStart >= windowMs) {
    data.frameWindowStart = now;
    data.frames = 0;
  }
  if (data.frames >= limit.points) return Math.max(1, data.frameWindowStart + windowMs - now);
  data.frames += 1;
  return 0;
}
