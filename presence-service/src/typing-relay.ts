import { ChatError, Errors, type TypingEventFrame } from '@chat/protocol';
import type { Logger } from '@chat/server/logger';
import type { GatewayPublisher } from './gateway-publisher.js';
import type { Membership } from './membership.js';

export interface TypingOptions {
  /** A typist expires (and a `stop` is relayed) this long after its last `start`. @default 3000 */
  ttlMs?: number;
  /** At most one relayed `start` per user and conversation per interval. @default 1000 */
  throttleMs?: number;
  /** Concurrent typists relayed per conversation; further typists are dropped. @default 5 */
  maxTypists?: number;
}

interface Typist {
  expiresAt: number;
  lastRelayAt: number;
  timer: NodeJS.Timeout;
}

/**
 * Typing indicators (G6): best-effort, at-most-once, never stored. The sender must be a member
 * (cached membership, NOT_MEMBER otherwise). Each `start` refreshes the typist's expiry; it is
 * relayed at most once per `throttleMs`; an explicit `stop`, or no refresh for `ttlMs`, relays a
 * `stop`. At most `maxTypists` typists per conversation are relayed, so a 10,000-member group gets
 * at most maxTypists × (1000 / throttleMs) starts per second, whatever its members do.
 * The typist table is in memory: with several presence-service instances, route a conversation
 * to one instance (or accept per-instance throttling). Receivers must also drop an indicator
 * `ttlMs` after its last `start`, so a lost `stop` never leaves a stale indicator.
 */
export class TypingRelay {
  private readonly typists = new Map<string, Map<string, Typist>>();
  private readonly o: Required<TypingOptions>;

  constructor(
    private readonly membership: Membership,
    private readonly publisher: GatewayPublisher,
    private readonly log: Logger,
    options: TypingOptions = {},
  ) {
    this.o = { ttlMs: options.ttlMs ?? 3000, throttleMs: options.throttleMs ?? 1000, maxTypists: options.maxTypists ?? 5 };
  }

  /** Returns whether the event was relayed (false: throttled, capped or a stop for nobody). */
  async typing(userId: string, conversationId: string, state: 'start' | 'stop'): Promise<boolean> {
    const conversations = await this.membership.conversationsOf(userId);
    if (!conversations.has(conversationId)) throw new ChatError(Errors.NOT_MEMBER);
    const now = Date.now();
    let conv = this.typists.get(conversationId);
    let typist = conv?.get(userId);
    if (state === 'stop') {
      if (!typist) return false;
      this.remove(conversationId, userId);
      this.relay(conversationId, userId, 'stop');
      return true;
    }
    if (!typist) {
      if (conv && conv.size >= this.o.maxTypists) return false;
      if (!conv) this.typists.set(conversationId, (conv = new Map()));
      typist = { expiresAt: 0, lastRelayAt: -Infinity, timer: undefined as unknown as NodeJS.Timeout };
      conv.set(userId, typist);
    }
    typist.expiresAt = now + this.o.ttlMs;
    clearTimeout(typist.timer);
    typist.timer = setTimeout(() => this.expire(conversationId, userId), this.o.ttlMs);
    typist.timer.unref();
    if (now - typist.lastRelayAt < this.o.throttleMs) return false;
    typist.lastRelayAt = now;
    this.relay(conversationId, userId, 'start');
    return true;
  }

  /** Typists currently tracked in a conversation (for tests and metrics). */
  activeTypists(conversationId: string): number {
    return this.typists.get(conversationId)?.size ?? 0;
  }

  close(): void {
    for (const conv of this.typists.values()) for (const t of conv.values()) clearTimeout(t.timer);
    this.typists.clear();
  }

  private expire(conversationId: string, userId: string): void {
    const typist = this.typists.get(conversationId)?.get(userId);
    if (!typist || typist.expiresAt > Date.now() + 5) return;
    this.remove(conversationId, userId);
    this.relay(conversationId, userId, 'stop');
  }

  private remove(conversationId: string, userId: string): void {
    const conv = this.typists.get(conversationId);
    const typist = conv?.get(userId);
    if (!conv || !typist) return;
    clearTimeout(typist.timer);
    conv.delete(userId);
    if (conv.size === 0) this.typists.delete(conversationId);
  }

  private relay(conversationId: string, userId: string, state: 'start' | 'stop'): void {
    const frame: TypingEventFrame = { type: 'typing', conversation_id: conversationId, user_id: userId, state };
    void this.membership
      .membersOf(conversationId)
      .then((members) => this.publisher.deliver(members, JSON.stringify(frame), userId))
      .catch((err: Error) => this.log.warn({ err, conversationId }, 'typing relay failed (best effort)'));
  }
}
