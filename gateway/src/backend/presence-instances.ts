import type { PresenceAuthorizeRequest, PresenceState } from '@chat/protocol/internal';
import { ServiceUnreachableError } from './internal-http.js';
import type { PresenceClient, PresenceInstanceClient } from './presence-client.js';
import { QueryCoalescer } from './query-coalescer.js';

export interface PresenceInstancesOptions {
  /** An instance that could not be reached is tried last for this long. @default 2000 */
  downMs?: number;
  /** Clock (ms). @default Date.now */
  now?: () => number;
  /** A query still waiting for its batch this long is refused with UNAVAILABLE. @default 5000 */
  queryQueueTimeoutMs?: number;
}

/**
 * presence-service run as several instances, seen as one PresenceClient. Queries of all sockets
 * are coalesced here, before an instance is picked, so a batch carries every subscribe that
 * arrived together whichever instance its watcher ranks first: fewer, larger requests (a request
 * costs both sides a fixed share of CPU besides its ids, and a batch's common users are read and
 * sent once). Every call has a key (typing: the conversation, so one instance holds a conversation's typists
 * and applies its throttle and cap; query batch: its first watcher; authorize: the first watcher;
 * report: the gateway) and
 * goes to the instance that ranks first for that key by rendezvous hashing over the instance
 * URLs: every gateway configured with the same list picks the same instance, and losing one
 * instance moves only its keys. An instance that cannot be reached is skipped (for `downMs`) and
 * the call goes to the next in rank, so a dead instance costs one failed attempt, never an error
 * while another instance answers. Presence state lives in Redis, so any instance may answer any
 * call; what moves with a lost instance is only its in-memory typists (in-flight indicators).
 */
export class PresenceInstances implements PresenceClient {
  private readonly downUntil: number[];
  private readonly downMs: number;
  private readonly now: () => number;
  private readonly queries: QueryCoalescer;

  constructor(
    private readonly urls: readonly string[],
    private readonly clients: readonly PresenceInstanceClient[],
    options: PresenceInstancesOptions = {},
  ) {
    if (urls.length === 0 || urls.length !== clients.length) throw new Error('PresenceInstances needs one client per URL, at least one');
    this.downUntil = urls.map(() => 0);
    this.downMs = options.downMs ?? 2000;
    this.now = options.now ?? Date.now;
    this.queries = new QueryCoalescer((request) => this.call(`user|${request.checks[0]?.user_id ?? ''}`, (c) => c.queryBatch(request)), {
      // One batch out at a time: what arrives meanwhile rides the next, so under load batches grow instead of requests.
      maxInFlight: 1,
      queueTimeoutMs: options.queryQueueTimeoutMs ?? 5000,
    });
  }

  report(gatewayId: string, online: readonly string[], offline: readonly string[]): Promise<void> {
    return this.call(`gw|${gatewayId}`, (c) => c.report(gatewayId, online, offline));
  }

  query(userId: string, userIds: readonly string[]): Promise<PresenceState[]> {
    return this.queries.query(userId, userIds);
  }

  authorize(checks: PresenceAuthorizeRequest['checks']): Promise<string[][]> {
    return this.call(`user|${checks[0]?.user_id ?? ''}`, (c) => c.authorize(checks));
  }

  typing(userId: string, conversationId: string, state: 'start' | 'stop'): Promise<void> {
    return this.call(`conv|${conversationId}`, (c) => c.typing(userId, conversationId, state));
  }

  async close(): Promise<void> {
    await Promise.all(this.clients.map((c) => c.close()));
  }

  /** Instance indexes for `key`, best first; instances marked down go last (still tried when all are). */
  rank(key: string): number[] {
    const t = this.now();
    const scored = this.urls.map((url, i) => ({ i, score: fnv1a(`${key}|${url}`), down: this.downUntil[i]! > t }));
    scored.sort((a, b) => Number(a.down) - Number(b.down) || b.score - a.score);
    return scored.map((s) => s.i);
  }

  private async call<T>(key: string, fn: (client: PresenceInstanceClient) => Promise<T>): Promise<T> {
    let lastError: unknown;
    for (const i of this.rank(key)) {
      try {
        const out = await fn(this.clients[i]!);
        this.downUntil[i] = 0;
        return out;
      } catch (err) {
        if (!(err instanceof ServiceUnreachableError)) throw err;
        this.downUntil[i] = this.now() + this.downMs;
        lastError = err;
      }
    }
    throw lastError;
  }
}

/** 32-bit FNV-1a of a string's UTF-16 code units with murmur3's finalizer (keys differing only at the end still spread): stable across processes. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
