import { createHash } from 'node:crypto';
import type { Redis } from '@chat/shared';

export interface IdempotencyRecord {
  conversation_id: string;
  message_id: string;
  created_at: number;
  body_sha256: string;
  /** 'pending' until the record is in Kafka; a duplicate of a pending send re-produces it. */
  state: 'pending' | 'done';
}

/**
 * client_msg_id → message, per sender, for 24 h (G5). `reserve` is atomic across all chat-service
 * instances: exactly one caller gets `created: true` for a (user, client_msg_id).
 */
export interface IdempotencyStore {
  reserve(userId: string, clientMsgId: string, record: IdempotencyRecord): Promise<{ created: boolean; record: IdempotencyRecord }>;
  markDone(userId: string, clientMsgId: string, record: IdempotencyRecord): Promise<void>;
}

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
    const key = this.key(userId, clientMsgId);
    const set = await this.redis.set(key, JSON.stringify(record), 'EX', TTL_SECONDS, 'NX');
    if (set === 'OK') return { created: true, record };
    const existing = await this.redis.get(key);
    // Vanished between SET NX and GET (expiry): treat as new.
    if (existing === null) return this.reserve(userId, clientMsgId, record);
    return { created: false, record: JSON.parse(existing) as IdempotencyRecord };
  }

  async markDone(userId: string, clientMsgId: string, record: IdempotencyRecord): Promise<void> {
    await this.redis.set(this.key(userId, clientMsgId), JSON.stringify({ ...record, state: 'done' }), 'EX', TTL_SECONDS, 'XX');
  }
}
