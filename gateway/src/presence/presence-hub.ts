import { ChatError, Errors, type PresenceEventFrame } from '@chat/protocol';
import { clientPresenceState, parsePresenceEvent, type PresenceEvent, type PresenceState } from '@chat/protocol/internal';
import type { Redis } from '@chat/server/clients';
import type { Logger } from '@chat/server/logger';
import { RedisKeys } from '@chat/server/redis';

/** Most users one connection may watch in total. */
export const MAX_WATCHED_PER_CONNECTION = 1000;
/**
 * For each watcher user, the subset of its users whose presence it may see now (they share a
 * conversation), for many watchers at once. Rejects when unknown.
 */
export type PresenceAuthorizer = (byWatcher: ReadonlyMap<string, ReadonlySet<string>>) => Promise<Map<string, ReadonlySet<string>>>;

/** A user watched by at least one local connection. */
interface WatchedUser {
  /** The user id: one string for all its watchers, not a copy per subscribe frame. */
  readonly id: string;
  /** Watching connection → the state it was last told (undefined: not told yet). */
  readonly told: Map<string, boolean | undefined>;
  /** The newest transition seen on its channel since the first local watcher subscribed. */
  current: PresenceEvent | undefined;
}

interface Watcher {
  /** The watching connection's user. */
  readonly userId: string;
  /** What it watches (each once; `told` of each holds the connection). */
  users: WatchedUser[];
}

/**
 * This gateway's presence subscriptions. One Redis channel per watched user (SUBSCRIBE on the
 * first local watcher, UNSUBSCRIBE after the last), so a gateway receives only transitions its
 * clients asked for. Delivery is coalesced: transitions are collected and flushed every
 * `flushMs`, one `presence` frame per subscriber listing only users whose state differs from what
 * that subscriber was last told. So a subscriber gets at most 1000 / flushMs frames per second,
 * a flap within one window produces nothing, and a repeated event is never delivered twice.
 * At-most-once (Redis pub/sub).
 *
 * A watcher–user pair is one entry of the user's `told` map plus one slot in the connection's
 * list: tens of thousands of connections each watching hundreds of users stay a small, stable heap.
 *
 * Authorization is re-checked on every transition: before a flush delivers anything, every watcher
 * user's pending users are checked with one `authorize` call (membership only). A user
 * the watcher may no longer see (it left every shared conversation) is not delivered and its
 * subscription is dropped; subscribing again re-authorizes. When the check fails (presence-service
 * unreachable) nothing is delivered and the transitions are retried at the next flush.
 */
export class PresenceHub {
  private readonly watched = new Map<string, WatchedUser>();
  private readonly watchers = new Map<string, Watcher>();
  private readonly dirty = new Set<WatchedUser>();
  private flushTimer: NodeJS.Timeout | undefined;
  private flushing = false;
  private readonly listener = (channel: string, message: string): void => this.onMessage(channel, message);
  private readonly keys: RedisKeys;
  private readonly channelPrefix: string;

  constructor(
    private readonly subscriber: Redis,
    prefix: string,
    private readonly send: (connectionId: string, frame: PresenceEventFrame) => void,
    private readonly flushMs: number,
    private readonly log: Logger,
    private readonly isOpen: (connectionId: string) => boolean,
    private readonly authorize: PresenceAuthorizer,
  ) {
    this.keys = new RedisKeys(prefix);
    this.channelPrefix = this.keys.presenceEvents('');
    subscriber.on('message', this.listener);
  }

  /**
   * Starts watching for `watcherId`'s connection; states are unknown until `setKnown`. Returns the
   * users it did not watch yet (to unwatch should the subscribe fail) and the SUBSCRIBE of users no
   * local connection watched before (undefined when there are none): events reach this gateway
   * once it resolves.
   */
  watch(connectionId: string, watcherId: string, userIds: readonly string[]): { fresh: string[]; subscribing: Promise<void> | undefined } {
    const fresh: string[] = [];
    if (!this.isOpen(connectionId)) return { fresh, subscribing: undefined }; // closed before its subscribe got here
    const entry = this.watchers.get(connectionId);
    const watching = entry?.users.length ?? 0;
    if (watching + userIds.length > MAX_WATCHED_PER_CONNECTION && watching + this.unwatched(connectionId, userIds).length > MAX_WATCHED_PER_CONNECTION) {
      throw new ChatError(Errors.INVALID_SHAPE, `at most ${MAX_WATCHED_PER_CONNECTION} watched users per connection`);
    }
    const mine = entry ?? { userId: watcherId, users: [] };
    const channels: string[] = [];
    for (const u of userIds) {
      let user = this.watched.get(u);
      if (!user) {
        this.watched.set(u, (user = { id: u, told: new Map(), current: undefined }));
        channels.push(this.keys.presenceEvents(u));
      } else if (user.told.has(connectionId)) {
        continue;
      }
      user.told.set(connectionId, undefined);
      mine.users.push(user);
      fresh.push(user.id);
    }
    if (!entry && fresh.length > 0) this.watchers.set(connectionId, mine);
    if (channels.length === 0) return { fresh, subscribing: undefined };
    const subscribing = this.subscriber.subscribe(...channels).then(() => {
      if (!this.isOpen(connectionId)) this.dropConnection(connectionId); // closed while subscribing
    });
    return { fresh, subscribing };
  }

  /** Those of `userIds` the connection does not watch yet (each as often as it is listed). */
  private unwatched(connectionId: string, userIds: readonly string[]): string[] {
    return userIds.filter((u) => !this.watched.get(u)?.told.has(connectionId));
  }

  /** Records what the subscriber was told in its reply; a transition seen meanwhile is flushed next. */
  setKnown(connectionId: string, states: readonly PresenceState[]): void {
    for (const s of states) {
      const user = this.watched.get(s.user_id);
      if (!user?.told.has(connectionId)) continue;
      user.told.set(connectionId, s.online);
      if (user.current && user.current.online !== s.online) this.markDirty(user);
    }
  }

  unwatch(connectionId: string, userIds: Iterable<string>): void {
    const mine = this.watchers.get(connectionId);
    if (!mine) return;
    const channels: string[] = [];
    let removed = 0;
    for (const u of userIds) {
      const user = this.watched.get(u);
      if (!user?.told.delete(connectionId)) continue;
      removed++;
      if (user.told.size === 0) this.forget(user, channels);
    }
    if (removed === 0) return;
    mine.users = mine.users.filter((user) => user.told.has(connectionId));
    if (mine.users.length === 0) this.watchers.delete(connectionId);
    this.unsubscribe(channels);
  }

  /** The connection closed. */
  dropConnection(connectionId: string): void {
    const mine = this.watchers.get(connectionId);
    if (!mine) return;
    this.watchers.delete(connectionId);
    const channels: string[] = [];
    for (const user of mine.users) {
      user.told.delete(connectionId);
      if (user.told.size === 0) this.forget(user, channels);
    }
    this.unsubscribe(channels);
  }

  close(): void {
    clearTimeout(this.flushTimer);
    this.subscriber.off('message', this.listener);
    for (const c of [...this.watchers.keys()]) this.dropConnection(c);
  }

  /** Its last local watcher is gone: its channel goes into `channels` to be unsubscribed. */
  private forget(user: WatchedUser, channels: string[]): void {
    if (this.watched.get(user.id) !== user) return;
    this.watched.delete(user.id);
    this.dirty.delete(user);
    channels.push(this.keys.presenceEvents(user.id));
  }

  private unsubscribe(channels: string[]): void {
    if (channels.length === 0) return;
    this.subscriber.unsubscribe(...channels).catch((err: Error) => this.log.warn({ err }, 'presence unsubscribe failed'));
  }

  private onMessage(channel: string, message: string): void {
    if (!channel.startsWith(this.channelPrefix)) return;
    const ev = parsePresenceEvent(message);
    const user = ev && this.watched.get(ev.user_id);
    if (!user) return;
    user.current = ev;
    this.markDirty(user);
  }

  private markDirty(user: WatchedUser): void {
    this.dirty.add(user);
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushTimer) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      if (this.flushing) {
        this.scheduleFlush(); // one flush at a time keeps each watcher's transitions in order
        return;
      }
      this.flushing = true;
      this.flush()
        .catch((err: Error) => this.log.warn({ err }, 'presence flush failed'))
        .finally(() => {
          this.flushing = false;
        });
    }, this.flushMs);
    this.flushTimer.unref();
  }

  private async flush(): Promise<void> {
    // What each connection would be told, before authorization.
    const pending = new Map<string, { watcherId: string; users: WatchedUser[] }>();
    for (const user of this.dirty) {
      const ev = user.current;
      if (!ev) continue;
      for (const [connectionId, told] of user.told) {
        if (told === undefined || told === ev.online) continue;
        let p = pending.get(connectionId);
        if (!p) {
          const watcher = this.watchers.get(connectionId);
          if (!watcher) continue;
          pending.set(connectionId, (p = { watcherId: watcher.userId, users: [] }));
        }
        p.users.push(user);
      }
    }
    const dirty = [...this.dirty];
    this.dirty.clear();
    if (pending.size === 0) return;

    const byWatcher = new Map<string, Set<string>>();
    for (const p of pending.values()) {
      let set = byWatcher.get(p.watcherId);
      if (!set) byWatcher.set(p.watcherId, (set = new Set()));
      for (const user of p.users) set.add(user.id);
    }
    let allowed: Map<string, ReadonlySet<string>>;
    try {
      allowed = await this.authorize(byWatcher);
    } catch (err) {
      this.log.warn({ err }, 'presence re-authorization failed; retrying at the next flush');
      for (const user of dirty) if (this.watched.get(user.id) === user) this.dirty.add(user);
      this.scheduleFlush();
      return;
    }

    for (const [connectionId, p] of pending) {
      if (!this.watchers.has(connectionId)) continue; // closed meanwhile
      const may = allowed.get(p.watcherId);
      const users: PresenceEventFrame['users'] = [];
      const revoked: string[] = [];
      for (const user of p.users) {
        // Unsubscribed meanwhile (the user's entry is then gone, or holds no told state for it).
        if (!user.told.has(connectionId)) continue;
        if (!may?.has(user.id)) {
          revoked.push(user.id);
          continue;
        }
        // The newest state wins if another transition arrived while authorizing.
        const ev = user.current!;
        if (user.told.get(connectionId) === ev.online) continue;
        user.told.set(connectionId, ev.online);
        users.push(clientPresenceState(user.id, ev.online, ev.last_seen));
      }
      if (revoked.length > 0) this.unwatch(connectionId, revoked);
      if (users.length === 0) continue;
      try {
        this.send(connectionId, { type: 'presence', users });
      } catch (err) {
        this.log.warn({ err }, 'presence delivery failed');
      }
    }
  }
}
