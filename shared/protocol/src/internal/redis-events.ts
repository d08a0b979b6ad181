import { isObject } from '../validate.js';

/**
 * Serialized server frames for some users of the gateway: `frame` when there is one, `frames` (in
 * order) when there are several for the same users, e.g. a chunk's messages of one conversation,
 * which a gateway writes to each socket in one go. Gateways older than `frames` drop such events.
 */
export interface EventDelivery {
  user_ids: string[];
  /** The already-serialized server frame, so a gateway forwards bytes without re-encoding. */
  frame?: string;
  /** Several already-serialized frames, in order (never together with `frame`). */
  frames?: string[];
  /** Set for chat messages: the gateway notes which conversations each socket uses. */
  conversation_id?: string;
  /** Set for chat messages: when the sequencer published it (epoch ms), for the sequenced→delivered histogram. */
  sequenced_at_ms?: number;
}

/**
 * A message on a gateway's Redis channel (RedisKeys.gatewayEvents in @chat/server): the deliveries
 * of one publishing call for this gateway, in order, so a chunk of messages costs each gateway one
 * event instead of one per message. Gateways also accept the single-delivery form that earlier
 * versions published (the delivery's fields beside `v` and `type`).
 */
export interface GatewayEvent {
  v: 1;
  type: 'deliver';
  deliveries: EventDelivery[];
}

/** Most frames in one GatewayEvent: bounds an event's size and the work a gateway does for it in one go. */
export const MAX_FRAMES_PER_EVENT = 256;

/** A presence transition on the user's channel (RedisKeys.presenceEvents) — only on online↔offline changes. */
export interface PresenceEvent {
  v: 1;
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
  return { v: 1, user_id: v.user_id, online: v.online, ...(typeof v.last_seen === 'number' ? { last_seen: v.last_seen } : {}) };
}
