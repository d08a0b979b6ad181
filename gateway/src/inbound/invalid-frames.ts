import type { SocketData } from '../transport/socket-data.js';

/**
 * Counts one invalid frame in a fixed window and tells whether the socket has now reached
 * `max` invalid frames within `windowMs` (then it should be closed with PROTOCOL_VIOLATION).
 */
export function recordInvalidFrame(data: SocketData, now: number, max: number, windowMs: number): boolean {
  if (now - data.invalidWindowStart >= windowMs) {
    data.invalidWindowStart = now;
    data.invalidFrames = 0;
  }
  data.invalidFrames += 1;
  return data.invalidFrames >= max;
}
