import { ChatError, Errors, type PresenceSubFrame, type ServerFrame, type TypingFrame } from '@chat/protocol';
import type { PresenceState } from '@chat/protocol/internal';
import type { PresenceClient } from '../backend/presence-client.js';
import type { PresenceHub } from './presence-hub.js';
import type { FrameCaller, PresenceAndTyping } from './presence-and-typing.js';

/** How long a subscribe waits for the gateway's Redis SUBSCRIBE before answering UNAVAILABLE. */
const SUBSCRIBE_TIMEOUT_MS = 3000;

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ChatError(Errors.UNAVAILABLE, 'presence subscriptions are unavailable')), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/**
 * PresenceAndTyping backed by presence-service (authorization, state, typing relay) and this
 * gateway's PresenceHub (subscriptions). Typing is fire-and-forget: no reply unless it fails
 * (e.g. NOT_MEMBER). A connection's repeated `start` for one conversation within `typingThrottleMs`
 * is dropped here, before it costs a request; presence-service throttles per user again.
 */
export class RemotePresenceAndTyping implements PresenceAndTyping {
  private readonly lastStart = new Map<string, number>();
  private lastPrune = 0;

  constructor(
    private readonly client: PresenceClient,
    private readonly hub: PresenceHub,
    private readonly typingThrottleMs: number,
  ) {}

  async typing(caller: FrameCaller, frame: TypingFrame): Promise<ServerFrame | undefined> {
    const now = Date.now();
    const key = `${caller.connectionId}|${frame.conversation_id}`;
    if (frame.state === 'start') {
      const last = this.lastStart.get(key);
      if (last !== undefined && now - last < this.typingThrottleMs) return undefined;
      this.lastStart.set(key, now);
      this.prune(now);
    } else {
      this.lastStart.delete(key);
    }
    await this.client.typing(caller.userId, frame.conversation_id, frame.state);
    return undefined;
  }

  async presence(caller: FrameCaller, frame: PresenceSubFrame): Promise<ServerFrame | undefined> {
    // Repeated ids cost nothing extra: the hub watches each once and presence-service answers each once.
    const ids = frame.user_ids;
    if (frame.type === 'presence.unsub') {
      this.hub.unwatch(caller.connectionId, ids);
      return { type: 'presence', ref: frame.ref, users: [] };
    }
    // Subscribe first, then one query that authorizes and reads the states (one state read per
    // 500 users): a transition is either in the reply or delivered afterwards (the hub
    // de-duplicates against what the reply said). Nothing is delivered for a user before its
    // state is known, and the users the caller may not see are unwatched again at once.
    const { fresh, subscribing } = this.hub.watch(caller.connectionId, caller.userId, ids);
    let states: PresenceState[];
    try {
      // SUBSCRIBE waits while Redis is down (ioredis queues it): answer a retryable error instead of nothing.
      if (subscribing) await withTimeout(subscribing, SUBSCRIBE_TIMEOUT_MS);
      states = await this.client.query(caller.userId, ids);
    } catch (err) {
      this.hub.unwatch(caller.connectionId, fresh);
      throw err;
    }
    // The states are of distinct users among `ids`: as many as asked means every one is allowed
    // (fewer: some are not, or `ids` repeats some).
    if (states.length < ids.length) {
      const allowed = new Set(states.map((s) => s.user_id));
      this.hub.unwatch(
        caller.connectionId,
        ids.filter((u) => !allowed.has(u)),
      );
    }
    this.hub.setKnown(caller.connectionId, states);
    // The client's states as they are: the presence client already copied out what a client may see.
    return { type: 'presence', ref: frame.ref, users: states };
  }

  private prune(now: number): void {
    if (now - this.lastPrune < 10_000) return;
    this.lastPrune = now;
    for (const [k, t] of this.lastStart) if (now - t >= this.typingThrottleMs) this.lastStart.delete(k);
  }
}
