import type { MessageRecord } from '@chat/protocol/internal';

/**
 * Bare pipeline (the `direct` benchmark's floor): what its processes pass each other. The ingress
 * server produces one `BareRecord` per `send` to Kafka (keyed by conversation); the consumer
 * publishes one `BareEvent` per delivering server and fetch batch on that server's Redis channel;
 * the scenario hands the consumer a `BareRoutes` file (who is in each conversation, on which
 * server), since the floor has no membership or session lookups. Every reader validates what it
 * reads and refuses anything else.
 */

/** One accepted send, as the ingress server writes it to Kafka: the product's record without its envelope and options. */
export type BareRecord = Pick<MessageRecord, 'conversation_id' | 'message_id' | 'sender_id' | 'client_msg_id' | 'body' | 'created_at'>;

/** The frames for some users of one delivering server (serialized `message` frames, in order). */
export interface BareDelivery {
  user_ids: string[];
  frame: string;
}

export interface BareEvent {
  deliveries: BareDelivery[];
}

/** conversation id → [user id, index of the server the user is connected to][] */
export type BareRoutes = Record<string, [string, number][]>;

/** The Redis channel of delivering server `index`. */
export function bareChannel(prefix: string, index: number): string {
  return `${prefix}bare:server:${index}`;
}

const isString = (v: unknown): v is string => typeof v === 'string';

export function decodeBareRecord(value: Buffer | null): BareRecord {
  if (value === null) throw new Error('record without a value');
  const r = JSON.parse(value.toString('utf8')) as Partial<Record<keyof BareRecord, unknown>>;
  if (
    !isString(r.conversation_id) ||
    !isString(r.message_id) ||
    !isString(r.sender_id) ||
    !isString(r.client_msg_id) ||
    !isString(r.body) ||
    typeof r.created_at !== 'number'
  ) {
    throw new Error('record is not a BareRecord');
  }
  return r as BareRecord;
}

export function decodeBareEvent(text: string): BareEvent {
  const e = JSON.parse(text) as { deliveries?: unknown };
  if (!Array.isArray(e.deliveries)) throw new Error('event without deliveries');
  for (const d of e.deliveries as Partial<Record<keyof BareDelivery, unknown>>[]) {
    if (!isString(d?.frame) || !Array.isArray(d.user_ids) || !d.user_ids.every(isString)) throw new Error('malformed delivery');
  }
  return e as BareEvent;
}

export function decodeBareRoutes(text: string): BareRoutes {
  const routes = JSON.parse(text) as unknown;
  if (typeof routes !== 'object' || routes === null || Array.isArray(routes)) throw new Error('routes are not an object');
  for (const members of Object.values(routes)) {
    if (!Array.isArray(members) || !members.every((m) => Array.isArray(m) && isString(m[0]) && Number.isInteger(m[1]) && (m[1] as number) >= 0)) {
      throw new Error('routes: each conversation maps to [user id, server index] pairs');
    }
  }
  return routes as BareRoutes;
}
