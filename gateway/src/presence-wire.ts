import { isObject } from '@chat/protocol';

// Mirrors presence-service/src/internal-api.ts: presenceChannel and PresenceEvent.

export function presenceChannel(prefix: string, userId: string): string {
  return `${prefix}presence:u:${userId}`;
}

export interface PresenceEvent {
  user_id: string;
  online: boolean;
  last_seen?: number;
}

/** Parses a presence transition; undefined when it is not a valid v1 event. */
export function parsePresenceEvent(text: string): PresenceEvent | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isObject(v) || v.v !== 1 || typeof v.user_id !== 'string' || typeof v.online !== 'boolean') return undefined;
  return { user_id: v.user_id, online: v.online, ...(typeof v.last_seen === 'number' ? { last_seen: v.last_seen } : {}) };
}
