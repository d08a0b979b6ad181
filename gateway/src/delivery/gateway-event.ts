import { isObject } from '@chat/protocol';
import type { EventDelivery, GatewayEvent } from '@chat/protocol/internal';

export class GatewayEventError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'GatewayEventError';
  }
}

function stringArray(value: unknown, field: string): string[] {
  if (!Array.isArray(value) || !value.every((v): v is string => typeof v === 'string')) {
    throw new GatewayEventError(`${field} must be an array of strings`);
  }
  return value;
}

function delivery(value: unknown): EventDelivery {
  if (!isObject(value)) throw new GatewayEventError('a delivery must be an object');
  if (typeof value.frame !== 'string' || value.frame === '') throw new GatewayEventError('frame must be a non-empty string');
  return {
    user_ids: stringArray(value.user_ids, 'user_ids'),
    frame: value.frame,
    ...(typeof value.conversation_id === 'string' ? { conversation_id: value.conversation_id } : {}),
    ...(typeof value.sequenced_at_ms === 'number' && Number.isFinite(value.sequenced_at_ms) ? { sequenced_at_ms: value.sequenced_at_ms } : {}),
  };
}

/**
 * Parses and validates one message of a gateway's delivery channel; throws GatewayEventError.
 * Accepts the single-delivery form of earlier versions too (its fields beside `v` and `type`).
 */
export function parseGatewayEvent(text: string): GatewayEvent {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new GatewayEventError('not JSON');
  }
  if (!isObject(value)) throw new GatewayEventError('not an object');
  if (value.v !== 1) throw new GatewayEventError('unsupported version');
  if (value.type !== 'deliver') throw new GatewayEventError('unknown type');
  if (value.deliveries === undefined) return { v: 1, type: 'deliver', deliveries: [delivery(value)] };
  if (!Array.isArray(value.deliveries)) throw new GatewayEventError('deliveries must be an array');
  return { v: 1, type: 'deliver', deliveries: value.deliveries.map(delivery) };
}
