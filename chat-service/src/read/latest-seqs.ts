import type { ChatMessage } from '@chat/protocol';
import type { Redis } from '@chat/server/clients';
import { RedisKeys, RedisScript } from '@chat/server/redis';
import type { MessageStore } from '../store/message-store.js';

/** Raises the key to ARGV[1] (never lowers it) and gives it ARGV[2] seconds to live. */
const RAISE = new RedisScript<number>(
  'chatRaiseLatestSeq',
  1,
  `local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local seq = tonumber(ARGV[1])
if seq > current then current = seq end
redis.call('SET', KEYS[1], current, 'EX', ARGV[2])
return current`,
);

/** One conversation in one epoch (a key is per epoch, so a reset conversation never shows the old numbering). */
export interface ConversationEpoch {
  conversationId: string;
  epoch: string;
}

/**
 * The latest stored seq of conversations for the digest, from Redis: the sequencer raises each
 * conversation's key as it delivers (one pipeline per delivery), and a conversation Redis does not
 * know (quiet longer than the TTL, or Redis lost it) is read from storage and written back. Without
 * it the digest cost two Cassandra reads per gateway, conversation and interval.
 *
 * Never used where a stale value would hide messages (history, sync): a key lags storage when the
 * raise failed with its delivery, and then only until it expires (`ttlSeconds`). A raise never
 * lowers a key, so a write-back racing the sequencer keeps the higher seq.
 */
export class LatestSeqs {
  private readonly keys: RedisKeys;

  constructor(
    private readonly redis: Redis,
    prefix: string,
    private readonly ttlSeconds: number,
  ) {
    this.keys = new RedisKeys(prefix);
    RAISE.define(redis);
  }

  /** Raises each conversation's key to the highest seq among `messages`. */
  async raise(messages: readonly ChatMessage[]): Promise<void> {
    const highest = new Map<string, number>();
    for (const m of messages) {
      const key = this.keys.latestSeq(m.conversation_id, m.epoch);
      highest.set(key, Math.max(highest.get(key) ?? 0, m.seq));
    }
    await this.raiseKeys(highest);
  }

  /**
   * The latest seq of each conversation (0 when it has no message): from Redis, or from `storage`
   * for the conversations Redis does not know or when Redis fails.
   */
  async get(conversations: readonly ConversationEpoch[], storage: Pick<MessageStore, 'lastSeqs'>): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    if (conversations.length === 0) return out;
    const keys = conversations.map((c) => this.keys.latestSeq(c.conversationId, c.epoch));
    // One GET per key (not MGET): the keys live in their conversations' cluster slots.
    const pipeline = this.redis.pipeline();
    for (const key of keys) pipeline.get(key);
    const cached = await pipeline.exec().catch(() => null);
    const missing: { conversationId: string; key: string }[] = [];
    conversations.forEach((c, i) => {
      const [err, value] = cached?.[i] ?? [null, null];
      if (err || typeof value !== 'string') missing.push({ conversationId: c.conversationId, key: keys[i]! });
      else out.set(c.conversationId, Number(value));
    });
    if (missing.length === 0) return out;
    const stored = await storage.lastSeqs(missing.map((m) => m.conversationId));
    const writeBack = new Map<string, number>();
    for (const { conversationId, key } of missing) {
      const seq = stored.get(conversationId) ?? 0;
      out.set(conversationId, seq);
      writeBack.set(key, seq);
    }
    // Best effort: a failed write-back only means storage is read again next time.
    await this.raiseKeys(writeBack).catch(() => undefined);
    return out;
  }

  private async raiseKeys(seqByKey: Map<string, number>): Promise<void> {
    if (seqByKey.size === 0) return;
    const pipeline = this.redis.pipeline();
    for (const [key, seq] of seqByKey) RAISE.queue(pipeline, [key], [seq, this.ttlSeconds]);
    const results = (await pipeline.exec()) ?? [];
    const failed = results.find(([err]) => err);
    if (failed) throw failed[0];
  }
}
