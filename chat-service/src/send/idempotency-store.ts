import { createHash } from 'node:crypto';
import type { Redis } from '@chat/server/clients';

export interface IdempotencyRecord {
  conversation_id: string;
  message_id: string;
  created_at: number;
  body_sha256: string;
}

/**
 * client_msg_id → message, per sender, for 24 h (G5). `reserve` is atomic across all chat-service
 * instances: exactly one caller gets `created: true` for a (user, client_msg_id).
 */
export interface IdempotencyStore {
  reserve(userId: string, clientMsgId: string, record: IdempotencyRecord): Promise<{ created: boolean; record: IdempotencyRecord }>;
  /** Overwrites the record (restoring one Redis lost, from durable storage), with a fresh 24 h TTL. */
  replace(userId: string, clientMsgId: string, record: IdempotencyRecord): Promise<void>;
}

/** The body hash stored with idempotency records and the sequencer's durable rows (same function on both sides). */
export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('base64url');
}

const TTL_SECONDS = 24 * 3600;

export class RedisIdempotencyStore implements IdempotencyStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix = 'chat:',
  ) {}

  private key(userId: string, clientMsgId: string): string {
    return `${this.prefix}idem:{${userId}}:${clientMsgId}`;
  }

  async reserve(userId: string, clientMsgId: string, record: IdempotencyRecord): Promise<{ created: boolean; record: IdempotencyRecord }> {
    // SET NX GET (Redis ≥ 7.0): one round trip that either stores ours or returns the existing one.
    const existing = (await this.redis.call('SET', this.key(userId, clientMsgId), JSON.stringify(record), 'EX', String(TTL_SECONDS), 'NX', 'GET')) as string | null;
    return existing === null ? { created: true, record } : { created: false, record: JSON.parse(existing) as IdempotencyRecord };
  }

  async replace(userId: string, clientMsgId: string, record: IdempotencyRecord): Promise<void> {
    await this.redis.set(this.key(userId, clientMsgId), JSON.stringify(record), 'EX', TTL_SECONDS);
  }
}
