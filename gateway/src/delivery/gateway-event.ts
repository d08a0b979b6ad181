import { isObject } from '@chat/protocol';

export class GatewayEventError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'GatewayEventError';
  }
}

/** One delivery of a gateway event as the gateway applies it: frames, in order, for the local sockets of some users. */
export interface Delivery {
  userIds: string[];
  frames: string[];
  /** Set for chat messages: the digest notes which conversations each socket uses. */
  conversationId?: string;
  /** Set for chat messages: when the sequencer published it (epoch ms). */
  sequencedAtMs?: number;
}

function stringArray(value: unknown, field: string): string[] {
  if (!Array.isArray(value) || !value.every((v): v is string => typeof v === 'string')) {
    throw new GatewayEventError(`${field} must be an array of strings`);
  }
  return value;
}

/** `frame` (one) or `frames` (several, in order): non-empty strings either way. */
function framesOf(value: Record<string, unknown>): string[] {
  if (value.frames === undefined) {
    if (typeof value.frame !== 'string' || value.frame === '') throw new GatewayEventError('frame must be a non-empty string');
    return [value.frame];
  }
  if (value.frame !== undefined) throw new GatewayEventError('a delivery has frame or frames, not both');
  const frames = stringArray(value.frames, 'frames');
  if (frames.length === 0 || frames.some((f) => f === '')) throw new GatewayEventError('frames must be non-empty strings');
  return frames;
}

function delivery(value: unknown): Delivery {
  if (!isObject(value)) throw new GatewayEventError('a delivery must be an object');
  return {
    userIds: stringArray(value.user_ids, 'user_ids'),
    frames: framesOf(value),
    ...(typeof value.conversation_id === 'string' ? { conversationId: value.conversation_id } : {}),
    ...(typeof value.sequenced_at_ms === 'number' && Number.isFinite(value.sequenced_at_ms) ? { sequencedAtMs: value.sequenced_at_ms } : {}),
  };
}

/**
 * Parses and validates one message of a gateway's delivery channel (a GatewayEvent) into its
 * deliveries; throws GatewayEventError. Accepts the single-delivery form of earlier versions too
 * (its fields beside `v` and `type`).
 */
export function parseGatewayEvent(text: string): Delivery[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new GatewayEventError('not JSON');
  }
  if (!isObject(value)) throw new GatewayEventError('not an object');
  if (value.v !== 1) throw new GatewayEventError('unsupported version');
  if (value.type !== 'deliver') throw new GatewayEventError('unknown type');
  if (value.deliveries === undefined) return [delivery(value)];
  if (!Array.isArray(value.deliveries)) throw new GatewayEventError('deliveries must be an array');
  return value.deliveries.map(delivery);
}
