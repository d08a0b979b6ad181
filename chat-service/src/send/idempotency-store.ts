import { createHash } from 'node:crypto';
import type { Redis } from '@chat/server/clients';
import { RedisKeys, RedisScript } from '@chat/server/redis';

export interface IdempotencyRecord {
  conversation_id: string;
  message_id: string;
  created_at: number;
  body_sha256: string;
}

/**
 * What Redis vouches for about a user's records: every idempotency record of the user created at or
 * after `since` (epoch ms) is present (until its 24 h TTL), and `day` (UTC days since the epoch) is
 * the last day the user's sending was recorded durably (UserSendDays). The marker lives beside the
 * records, so whatever loses the records loses it too.
 */
export interface CompletenessMarker {
  since: number;
  day: number;
}

/**
 * client_msg_id → message, per sender, for 24 h (G5). `reserve` is atomic across all chat-service
 * instances: exactly one caller gets `created: true` for a (user, client_msg_id).
 */
export interface IdempotencyStore {
  /** Stores `record` unless the key holds one; returns the stored one and the user's completeness marker. */
  reserve(
    userId: string,
    clientMsgId: string,
    record: IdempotencyRecord,
  ): Promise<{ created: boolean; record: IdempotencyRecord; marker: CompletenessMarker | null }>;
  /** Overwrites the record (restoring one Redis lost, from durable storage), with a fresh 24 h TTL. */
  replace(userId: string, clientMsgId: string, record: IdempotencyRecord): Promise<void>;
  /** Sets the user's marker only if it still is `expected` (null: absent), so a marker never outlives records Redis lost meanwhile. */
  replaceMarker(userId: string, expected: CompletenessMarker | null, next: CompletenessMarker): Promise<void>;
}

/** The body hash stored with idempotency records and the sequencer's durable rows (same function on both sides). */
export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('base64url');
}

/**
 * What makes two sends with one client_msg_id the same message: the body and the attachment ids in
 * order. Without attachments it is the body's hash alone, as stored before messages had any.
 */
export function contentHash(body: string, attachmentIds: readonly string[] = []): string {
  return attachmentIds.length === 0 ? sha256(body) : sha256(`${body}\u0000${attachmentIds.join(',')}`);
}

const TTL_SECONDS = 24 * 3600;
/** A marker outlives the records it vouches for; an idle user's marker goes after a week (then UserSendDays decides again). */
const MARKER_TTL_SECONDS = 7 * 24 * 3600;

// KEYS: record, marker. ARGV: record JSON, TTL s. One round trip: SET NX GET and the marker.
const RESERVE = new RedisScript<[string | null, string | null]>(
  'chatIdempotencyReserve',
  2,
  `
local existing = redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2], 'NX', 'GET')
return { existing, redis.call('GET', KEYS[2]) }
`,
);
// KEYS: marker. ARGV: expected value ('' = absent), new value, TTL s. Compare-and-set.
const REPLACE_MARKER = new RedisScript<number>(
  'chatIdempotencyReplaceMarker',
  1,
  `
local current = redis.call('GET', KEYS[1]) or ''
if current ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
return 1
`,
);

export class RedisIdempotencyStore implements IdempotencyStore {
  private readonly keys: RedisKeys;

  constructor(
    private readonly redis: Redis,
    prefix: string,
  ) {
    this.keys = new RedisKeys(prefix);
  }

  private key(userId: string, clientMsgId: string): string {
    return this.keys.idempotencyRecord(userId, clientMsgId);
  }

  private markerKey(userId: string): string {
    return this.keys.idempotencyMarker(userId);
  }

  async reserve(
    userId: string,
    clientMsgId: string,
    record: IdempotencyRecord,
  ): Promise<{ created: boolean; record: IdempotencyRecord; marker: CompletenessMarker | null }> {
    const [existing, marker] = await RESERVE.run(
      this.redis,
      [this.key(userId, clientMsgId), this.markerKey(userId)],
      [JSON.stringify(record), String(TTL_SECONDS)],
    );
    return {
      created: existing === null,
      record: existing === null ? record : (JSON.parse(existing) as IdempotencyRecord),
      marker: parseMarker(marker),
    };
  }

  async replace(userId: string, clientMsgId: string, record: IdempotencyRecord): Promise<void> {
    await this.redis.set(this.key(userId, clientMsgId), JSON.stringify(record), 'EX', TTL_SECONDS);
  }

  async replaceMarker(userId: string, expected: CompletenessMarker | null, next: CompletenessMarker): Promise<void> {
    await REPLACE_MARKER.run(this.redis, [this.markerKey(userId)], [expected ? formatMarker(expected) : '', formatMarker(next), String(MARKER_TTL_SECONDS)]);
  }
}

function formatMarker(m: CompletenessMarker): string {
  return `${m.since}:${m.day}`;
}

function parseMarker(value: string | null): CompletenessMarker | null {
  const m = value === null ? null : /^(\d+):(\d+)$/.exec(value);
  return m ? { since: Number(m[1]), day: Number(m[2]) } : null;
}

/**
 * Whether Redis keeps every record until its TTL: no eviction can remove one (no memory limit, or
 * the noeviction policy). False when the server does not say (CONFIG refused): then no marker is trusted.
 */
export async function redisKeepsRecords(redis: Redis): Promise<boolean> {
  try {
    const [, maxmemory] = (await redis.config('GET', 'maxmemory')) as string[];
    const [, policy] = (await redis.config('GET', 'maxmemory-policy')) as string[];
    return maxmemory === '0' || policy === 'noeviction';
  } catch {
    return false;
  }
}
