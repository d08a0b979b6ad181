import type { Redis } from 'ioredis';

export interface RouteCacheOptions {
  /** Channel of route invalidations (RedisKeys.routesChanged): the user id, at every register and unregister. */
  channel: string;
  /**
   * How long a user's gateways are kept without an invalidation (each entry draws its own time in
   * the last quarter of it, so a large group's routes do not lapse together).
   */
  ttlMs: number;
  /** Most users kept (the oldest entries go first). @default 500000 */
  maxUsers?: number;
}

/** A running read: the invalidations seen when it began. */
interface RouteLookup {
  readonly invalidationsBefore: number;
}

/** Reads users' routes: one list of gateway ids per user, in the order given. */
export type RouteReader = (userIds: readonly string[]) => Promise<string[][]>;

/**
 * Users' gateways as last read from the session registry, kept between lookups so a large
 * group's message costs no routing reads. Every register and unregister publishes the user's id,
 * which drops the user's entry here. What bounds staleness when an invalidation is lost:
 * - the TTL, for whatever else goes wrong (every register and unregister publishes inside the
 *   script that changes the entry, so no change that took effect goes unannounced);
 * - losing the subscription (a Redis reconnect) drops every entry, and nothing is kept until
 *   the channel is subscribed again.
 * An invalidation travels on the subscriber connection, the lookup's reply on another, so the
 * invalidation can arrive before a reply that predates it: a lookup overtaken by a user's
 * invalidation does not keep its answer for that user.
 */
export class RouteCache {
  private readonly entries = new Map<string, { gateways: string[]; until: number }>();
  private readonly maxUsers: number;
  private subscribed = false;
  /** Invalidations (and clears) seen so far: a lookup keeps only answers no later one overtook. */
  private invalidations = 0;
  private clearedAt = 0;
  private readonly running = new Set<RouteLookup>();
  /**
   * User → the invalidation count at the user's latest invalidation, for the invalidations a
   * running lookup may not have read; in ascending count order, pruned as the oldest lookups end.
   */
  private readonly overtaken = new Map<string, number>();

  constructor(private readonly opts: RouteCacheOptions) {
    this.maxUsers = opts.maxUsers ?? 500_000;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Invalidations remembered for running lookups (bounded by what came since the oldest began). */
  get remembered(): number {
    return this.overtaken.size;
  }

  /** Subscribes to invalidations on a subscriber connection (shared with other listeners). */
  async listen(sub: Redis): Promise<void> {
    sub.on('message', (channel: string, userId: string) => {
      if (channel === this.opts.channel) this.invalidate(userId);
    });
    // Invalidations published while the connection is down are lost: start over after it.
    sub.on('close', () => {
      this.subscribed = false;
      this.clear();
    });
    sub.on('ready', () => {
      void this.subscribe(sub).catch(() => undefined);
    });
    await this.subscribe(sub);
  }

  /** Lookups that started before the subscription may have read a route whose invalidation was missed: they keep nothing. */
  private async subscribe(sub: Redis): Promise<void> {
    await sub.subscribe(this.opts.channel);
    this.clear();
    this.subscribed = true;
  }

  /** Hands each cached user's gateways to `found`; returns the users that must be looked up. */
  collect(userIds: Iterable<string>, found: (userId: string, gateways: string[]) => void): string[] {
    const missing: string[] = [];
    const now = Date.now();
    for (const userId of userIds) {
      const entry = this.entries.get(userId);
      if (entry !== undefined && entry.until > now) found(userId, entry.gateways);
      else missing.push(userId);
    }
    return missing;
  }

  /** Reads the routes of `userIds` with `reader` and keeps the answers no invalidation overtook (nothing if the read fails). */
  async read(userIds: readonly string[], reader: RouteReader): Promise<string[][]> {
    const lookup: RouteLookup = { invalidationsBefore: this.invalidations };
    this.running.add(lookup);
    let gateways: string[][] = [];
    try {
      gateways = await reader(userIds);
      return gateways;
    } finally {
      this.end(lookup, userIds, gateways);
    }
  }

  /** Keeps the answers (`gateways[i]` for `userIds[i]`) that no invalidation overtook. */
  private end(lookup: RouteLookup, userIds: readonly string[], gateways: readonly string[][]): void {
    this.running.delete(lookup);
    const since = lookup.invalidationsBefore;
    if (this.subscribed && this.clearedAt <= since) {
      const until = Date.now() + this.opts.ttlMs * (0.75 + 0.25 * Math.random());
      for (const [i, routes] of gateways.entries()) {
        const userId = userIds[i]!;
        if ((this.overtaken.get(userId) ?? 0) > since) continue;
        this.entries.delete(userId); // re-inserted last, so eviction takes the oldest
        this.entries.set(userId, { gateways: routes, until });
      }
      this.evictOverflow();
    }
    this.forgetOvertaken();
  }

  private invalidate(userId: string): void {
    this.invalidations++;
    this.entries.delete(userId);
    if (this.running.size === 0) return;
    this.overtaken.delete(userId); // re-inserted last, so the map stays in ascending count order
    this.overtaken.set(userId, this.invalidations);
  }

  /** Drops the invalidations every running lookup began after (under steady load lookups overlap without pause). */
  private forgetOvertaken(): void {
    let oldest = Number.POSITIVE_INFINITY;
    for (const lookup of this.running) oldest = Math.min(oldest, lookup.invalidationsBefore);
    for (const [userId, count] of this.overtaken) {
      if (count > oldest) return;
      this.overtaken.delete(userId);
    }
  }

  private clear(): void {
    this.invalidations++;
    this.clearedAt = this.invalidations;
    this.entries.clear();
  }

  private evictOverflow(): void {
    for (const userId of this.entries.keys()) {
      if (this.entries.size <= this.maxUsers) return;
      this.entries.delete(userId);
    }
  }
}
