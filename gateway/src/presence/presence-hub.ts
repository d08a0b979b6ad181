import { ChatError, Errors, type PresenceEventFrame } from '@chat/protocol';
import { parsePresenceEvent, type PresenceEvent, type PresenceState } from '@chat/protocol/internal';
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

interface Watching {
  /** The watching connection's user. */
  userId: string;
  /** Watched user → the state this connection was last told (undefined: not told yet). */
  users: Map<string, boolean | undefined>;
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
 * Authorization is re-checked on every transition: before a flush delivers anything, every watcher
 * user's pending users are checked with one `authorize` call (membership only). A user
 * the watcher may no longer see (it left every shared conversation) is not delivered and its
 * subscription is dropped; subscribing again re-authorizes. When the check fails (presence-service
 * unreachable) nothing is delivered and the transitions are retried at the next flush.
 */
export class PresenceHub {
  private readonly watchers = new Map<string, Set<string>>();
  private readonly watching = new Map<string, Watching>();
  private readonly current = new Map<string, PresenceEvent>();
  private readonly dirty = new Set<string>();
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

  /** Starts watching for `watcherId`'s connection (SUBSCRIBE resolves first); states are unknown until `setKnown`. */
  async watch(connectionId: string, watcherId: string, userIds: readonly string[]): Promise<void> {
    let entry = this.watching.get(connectionId);
    if (!entry) this.watching.set(connectionId, (entry = { userId: watcherId, users: new Map() }));
    const mine = entry.users;
    const fresh = userIds.filter((u) => !mine.has(u));
    if (mine.size + fresh.length > MAX_WATCHED_PER_CONNECTION) {
      throw new ChatError(Errors.INVALID_SHAPE, `at most ${MAX_WATCHED_PER_CONNECTION} watched users per connection`);
    }
    const channels: string[] = [];
    for (const u of fresh) {
      mine.set(u, undefined);
      let set = this.watchers.get(u);
      if (!set) {
        this.watchers.set(u, (set = new Set()));
        channels.push(this.keys.presenceEvents(u));
      }
      set.add(connectionId);
    }
    if (channels.length > 0) await this.subscriber.subscribe(...channels);
    if (!this.isOpen(connectionId)) this.dropConnection(connectionId); // closed while subscribing
  }

  /** Those of `userIds` the connection does not watch yet. */
  unwatched(connectionId: string, userIds: readonly string[]): string[] {
    const mine = this.watching.get(connectionId)?.users;
    return mine ? userIds.filter((u) => !mine.has(u)) : [...userIds];
  }

  /** Records what the subscriber was told in its reply; a transition seen meanwhile is flushed next. */
  setKnown(connectionId: string, states: readonly PresenceState[]): void {
    const mine = this.watching.get(connectionId)?.users;
    if (!mine) return;
    for (const s of states) {
      if (!mine.has(s.user_id)) continue;
      mine.set(s.user_id, s.online);
      const ev = this.current.get(s.user_id);
      if (ev && ev.online !== s.online) this.markDirty(s.user_id);
    }
  }

  unwatch(connectionId: string, userIds: Iterable<string>): void {
    const mine = this.watching.get(connectionId)?.users;
    if (!mine) return;
    const channels: string[] = [];
    for (const u of userIds) {
      if (!mine.delete(u)) continue;
      const set = this.watchers.get(u);
      set?.delete(connectionId);
      if (set && set.size === 0) {
        this.watchers.delete(u);
        this.current.delete(u);
        this.dirty.delete(u);
        channels.push(this.keys.presenceEvents(u));
      }
    }
    if (mine.size === 0) this.watching.delete(connectionId);
    if (channels.length > 0) {
      this.subscriber.unsubscribe(...channels).catch((err: Error) => this.log.warn({ err }, 'presence unsubscribe failed'));
    }
  }

  /** The connection closed. */
  dropConnection(connectionId: string): void {
    const mine = this.watching.get(connectionId)?.users;
    if (mine) this.unwatch(connectionId, [...mine.keys()]);
  }

  close(): void {
    clearTimeout(this.flushTimer);
    this.subscriber.off('message', this.listener);
    for (const c of [...this.watching.keys()]) this.dropConnection(c);
  }

  private onMessage(channel: string, message: string): void {
    if (!channel.startsWith(this.channelPrefix)) return;
    const ev = parsePresenceEvent(message);
    if (!ev || !this.watchers.has(ev.user_id)) return;
    this.current.set(ev.user_id, ev);
    this.markDirty(ev.user_id);
  }

  private markDirty(userId: string): void {
    this.dirty.add(userId);
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
    const pending = new Map<string, { watcherId: string; users: PresenceEventFrame['users'] }>();
    for (const u of this.dirty) {
      const ev = this.current.get(u);
      if (!ev) continue;
      for (const connectionId of this.watchers.get(u) ?? []) {
        const entry = this.watching.get(connectionId);
        const told = entry?.users.get(u);
        if (!entry || told === undefined || told === ev.online) continue;
        let p = pending.get(connectionId);
        if (!p) pending.set(connectionId, (p = { watcherId: entry.userId, users: [] }));
        p.users.push({ user_id: u, online: ev.online, ...(!ev.online && ev.last_seen !== undefined ? { last_seen: ev.last_seen } : {}) });
      }
    }
    const dirty = [...this.dirty];
    this.dirty.clear();
    if (pending.size === 0) return;

    const byWatcher = new Map<string, Set<string>>();
    for (const p of pending.values()) {
      let set = byWatcher.get(p.watcherId);
      if (!set) byWatcher.set(p.watcherId, (set = new Set()));
      for (const u of p.users) set.add(u.user_id);
    }
    let allowed: Map<string, ReadonlySet<string>>;
    try {
      allowed = await this.authorize(byWatcher);
    } catch (err) {
      this.log.warn({ err }, 'presence re-authorization failed; retrying at the next flush');
      for (const u of dirty) if (this.watchers.has(u)) this.dirty.add(u);
      this.scheduleFlush();
      return;
    }

    for (const [connectionId, p] of pending) {
      const entry = this.watching.get(connectionId);
      if (!entry) continue; // closed or unsubscribed meanwhile
      const may = allowed.get(p.watcherId);
      const users: PresenceEventFrame['users'] = [];
      const revoked: string[] = [];
      for (const u of p.users) {
        if (!entry.users.has(u.user_id)) continue;
        if (!may?.has(u.user_id)) {
          revoked.push(u.user_id);
          continue;
        }
        // The newest state wins if another transition arrived while authorizing.
        const ev = this.current.get(u.user_id);
        const state = ev ? { user_id: u.user_id, online: ev.online, ...(!ev.online && ev.last_seen !== undefined ? { last_seen: ev.last_seen } : {}) } : u;
        if (entry.users.get(u.user_id) === state.online) continue;
        entry.users.set(u.user_id, state.online);
        users.push(state);
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
