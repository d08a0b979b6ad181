import { ChatError, Errors, type Logger, type PresenceEventFrame, type Redis } from '@chat/shared';
import type { PresenceStateWire } from './presence-client.js';
import { parsePresenceEvent, presenceChannel, type PresenceEvent } from './presence-wire.js';

/** Most users one connection may watch in total. */
export const MAX_WATCHED_PER_CONNECTION = 1000;

/**
 * This gateway's presence subscriptions. One Redis channel per watched user (SUBSCRIBE on the
 * first local watcher, UNSUBSCRIBE after the last), so a gateway receives only transitions its
 * clients asked for. Delivery is coalesced: transitions are collected and flushed every
 * `flushMs`, one `presence` frame per subscriber listing only users whose state differs from what
 * that subscriber was last told. So a subscriber gets at most 1000 / flushMs frames per second,
 * a flap within one window produces nothing, and a repeated event is never delivered twice.
 * At-most-once (Redis pub/sub).
 */
export class PresenceHub {
  private readonly watchers = new Map<string, Set<string>>();
  private readonly watching = new Map<string, Map<string, boolean | undefined>>();
  private readonly current = new Map<string, PresenceEvent>();
  private readonly dirty = new Set<string>();
  private flushTimer: NodeJS.Timeout | undefined;
  private readonly listener = (channel: string, message: string): void => this.onMessage(channel, message);
  private readonly channelPrefix: string;

  constructor(
    private readonly subscriber: Redis,
    private readonly prefix: string,
    private readonly send: (connectionId: string, frame: PresenceEventFrame) => void,
    private readonly flushMs: number,
    private readonly log: Logger,
    private readonly isOpen: (connectionId: string) => boolean,
  ) {
    this.channelPrefix = presenceChannel(prefix, '');
    subscriber.on('message', this.listener);
  }

  /** Starts watching (SUBSCRIBE resolves first); states are unknown until `setKnown`. */
  async watch(connectionId: string, userIds: readonly string[]): Promise<void> {
    let mine = this.watching.get(connectionId);
    if (!mine) this.watching.set(connectionId, (mine = new Map()));
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
        channels.push(presenceChannel(this.prefix, u));
      }
      set.add(connectionId);
    }
    if (channels.length > 0) await this.subscriber.subscribe(...channels);
    if (!this.isOpen(connectionId)) this.dropConnection(connectionId); // closed while subscribing
  }

  /** Records what the subscriber was told in its reply; a transition seen meanwhile is flushed next. */
  setKnown(connectionId: string, states: readonly PresenceStateWire[]): void {
    const mine = this.watching.get(connectionId);
    if (!mine) return;
    for (const s of states) {
      if (!mine.has(s.user_id)) continue;
      mine.set(s.user_id, s.online);
      const ev = this.current.get(s.user_id);
      if (ev && ev.online !== s.online) this.markDirty(s.user_id);
    }
  }

  unwatch(connectionId: string, userIds: Iterable<string>): void {
    const mine = this.watching.get(connectionId);
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
        channels.push(presenceChannel(this.prefix, u));
      }
    }
    if (mine.size === 0) this.watching.delete(connectionId);
    if (channels.length > 0) {
      this.subscriber.unsubscribe(...channels).catch((err: Error) => this.log.warn({ err: err.message }, 'presence unsubscribe failed'));
    }
  }

  /** The connection closed. */
  dropConnection(connectionId: string): void {
    const mine = this.watching.get(connectionId);
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
    if (this.flushTimer) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      this.flush();
    }, this.flushMs);
    this.flushTimer.unref();
  }

  private flush(): void {
    const frames = new Map<string, PresenceEventFrame['users']>();
    for (const u of this.dirty) {
      const ev = this.current.get(u);
      if (!ev) continue;
      for (const connectionId of this.watchers.get(u) ?? []) {
        const mine = this.watching.get(connectionId);
        const told = mine?.get(u);
        if (!mine || told === undefined || told === ev.online) continue;
        mine.set(u, ev.online);
        let users = frames.get(connectionId);
        if (!users) frames.set(connectionId, (users = []));
        users.push({ user_id: u, online: ev.online, ...(!ev.online && ev.last_seen !== undefined ? { last_seen: ev.last_seen } : {}) });
      }
    }
    this.dirty.clear();
    for (const [connectionId, users] of frames) {
      try {
        this.send(connectionId, { type: 'presence', users });
      } catch (err) {
        this.log.warn({ err: (err as Error).message }, 'presence delivery failed');
      }
    }
  }
}
