import { EventEmitter } from 'node:events';
import { ChatError, type PresenceEventFrame } from '@chat/protocol';
import type { Redis } from '@chat/server/clients';
import type { Logger } from '@chat/server/logger';
import { RedisKeys } from '@chat/server/redis';
import { describe, expect, it } from 'vitest';
import { MAX_WATCHED_PER_CONNECTION, PresenceHub, type PresenceAuthorizer } from './presence-hub.js';

const PREFIX = 'hubtest:';
const keys = new RedisKeys(PREFIX);
const FLUSH_MS = 5;

/** A Redis subscriber stand-in that records (un)subscribed channels and lets a test publish. */
class FakeSubscriber extends EventEmitter {
  readonly channels = new Set<string>();
  subscribes: string[][] = [];
  unsubscribes: string[][] = [];
  /** Resolves SUBSCRIBE calls once released (all at once by default). */
  gate: Promise<void> = Promise.resolve();

  async subscribe(...channels: string[]): Promise<void> {
    this.subscribes.push(channels);
    await this.gate;
    for (const c of channels) this.channels.add(c);
  }

  async unsubscribe(...channels: string[]): Promise<void> {
    this.unsubscribes.push(channels);
    for (const c of channels) this.channels.delete(c);
  }

  publish(userId: string, online: boolean, lastSeen?: number): void {
    const channel = keys.presenceEvents(userId);
    if (!this.channels.has(channel)) return;
    this.emit('message', channel, JSON.stringify({ v: 1, user_id: userId, online, ...(lastSeen !== undefined ? { last_seen: lastSeen } : {}) }));
  }
}

const silent = { warn: () => {}, child: () => silent } as unknown as Logger;
const everyoneMay: PresenceAuthorizer = async (byWatcher) => new Map([...byWatcher].map(([w, users]) => [w, new Set(users)]));

function setup(authorize: PresenceAuthorizer = everyoneMay) {
  const sub = new FakeSubscriber();
  const open = new Set<string>();
  const sent: { connectionId: string; frame: PresenceEventFrame }[] = [];
  const hub = new PresenceHub(
    sub as unknown as Redis,
    PREFIX,
    (connectionId, frame) => sent.push({ connectionId, frame }),
    FLUSH_MS,
    silent,
    (c) => open.has(c),
    authorize,
  );
  return { sub, open, sent, hub };
}

const settle = () => new Promise((r) => setTimeout(r, FLUSH_MS * 4));

describe('PresenceHub', () => {
  it('subscribes each watched user once for all local watchers and unsubscribes after the last', async () => {
    const { sub, open, hub } = setup();
    open.add('c1').add('c2');
    const first = hub.watch('c1', 'w1', ['a', 'b']);
    expect(first.fresh).toEqual(['a', 'b']);
    await first.subscribing;
    const second = hub.watch('c2', 'w2', ['b', 'c']);
    expect(second.fresh).toEqual(['b', 'c']);
    await second.subscribing;
    expect(sub.subscribes).toEqual([[keys.presenceEvents('a'), keys.presenceEvents('b')], [keys.presenceEvents('c')]]);

    const again = hub.watch('c1', 'w1', ['a', 'b']);
    expect(again).toEqual({ fresh: [], subscribing: undefined });

    hub.unwatch('c1', ['b']);
    expect(sub.unsubscribes).toEqual([]); // c2 still watches b
    hub.dropConnection('c2');
    expect(sub.unsubscribes).toEqual([[keys.presenceEvents('b'), keys.presenceEvents('c')]]);
    hub.unwatch('c1', ['a']);
    expect(sub.unsubscribes.at(-1)).toEqual([keys.presenceEvents('a')]);
    expect(sub.channels.size).toBe(0);
  });

  it('delivers a transition to each watcher that was told otherwise, once, and nothing before the reply is known', async () => {
    const { sub, open, sent, hub } = setup();
    open.add('c1').add('c2').add('c3');
    await hub.watch('c1', 'w1', ['a']).subscribing;
    hub.watch('c2', 'w2', ['a']);
    hub.watch('c3', 'w3', ['a']);
    hub.setKnown('c1', [{ user_id: 'a', online: false }]);
    hub.setKnown('c2', [{ user_id: 'a', online: true }]);
    // c3's reply is not known yet: it hears nothing until it is.
    sub.publish('a', true);
    sub.publish('a', true);
    await settle();
    expect(sent).toEqual([{ connectionId: 'c1', frame: { type: 'presence', users: [{ user_id: 'a', online: true }] } }]);

    sent.length = 0;
    sub.publish('a', false, 1234);
    await settle();
    expect(sent.map((s) => s.connectionId).sort()).toEqual(['c1', 'c2']);
    expect(sent[0]!.frame.users).toEqual([{ user_id: 'a', online: false, last_seen: 1234 }]);
  });

  it('delivers a transition seen while the reply was being read when the reply said otherwise', async () => {
    const { sub, open, sent, hub } = setup();
    open.add('c1');
    await hub.watch('c1', 'w1', ['a']).subscribing;
    sub.publish('a', true);
    await settle();
    expect(sent).toEqual([]);
    hub.setKnown('c1', [{ user_id: 'a', online: false }]); // read before the transition
    await settle();
    expect(sent).toEqual([{ connectionId: 'c1', frame: { type: 'presence', users: [{ user_id: 'a', online: true }] } }]);
  });

  it('drops, without delivering, a user the watcher may no longer see', async () => {
    const { sub, open, sent, hub } = setup(async (byWatcher) => new Map([...byWatcher].map(([w]) => [w, new Set(['b'])])));
    open.add('c1');
    await hub.watch('c1', 'w1', ['a', 'b']).subscribing;
    hub.setKnown('c1', [
      { user_id: 'a', online: false },
      { user_id: 'b', online: false },
    ]);
    sub.publish('a', true);
    sub.publish('b', true);
    await settle();
    expect(sent).toEqual([{ connectionId: 'c1', frame: { type: 'presence', users: [{ user_id: 'b', online: true }] } }]);
    expect(sub.unsubscribes).toEqual([[keys.presenceEvents('a')]]);
    expect(hub.watch('c1', 'w1', ['a', 'b']).fresh).toEqual(['a']);
  });

  it('retries the transitions at the next flush when the re-authorization fails', async () => {
    let fail = true;
    const { sub, open, sent, hub } = setup(async (byWatcher) => {
      if (fail) throw new Error('unreachable');
      return everyoneMay(byWatcher);
    });
    open.add('c1');
    await hub.watch('c1', 'w1', ['a']).subscribing;
    hub.setKnown('c1', [{ user_id: 'a', online: false }]);
    sub.publish('a', true);
    await settle();
    expect(sent).toEqual([]);
    fail = false;
    await settle();
    expect(sent).toEqual([{ connectionId: 'c1', frame: { type: 'presence', users: [{ user_id: 'a', online: true }] } }]);
  });

  it('refuses more than MAX_WATCHED_PER_CONNECTION users and then watches nothing new', () => {
    const { open, hub } = setup();
    open.add('c1');
    const ids = Array.from({ length: MAX_WATCHED_PER_CONNECTION }, (_, i) => `u${i}`);
    expect(hub.watch('c1', 'w1', ids).fresh).toHaveLength(MAX_WATCHED_PER_CONNECTION);
    expect(hub.watch('c1', 'w1', ids).fresh).toEqual([]); // the same users again: nothing new, no error
    expect(() => hub.watch('c1', 'w1', ['one-more'])).toThrow(ChatError);
    hub.unwatch('c1', ['u0']);
    expect(hub.watch('c1', 'w1', ['one-more']).fresh).toEqual(['one-more']);
  });

  it('keeps nothing for a connection that closed before or while subscribing', async () => {
    const { sub, open, hub } = setup();
    expect(hub.watch('gone', 'w1', ['a'])).toEqual({ fresh: [], subscribing: undefined });
    expect(sub.subscribes).toEqual([]);

    let release: () => void = () => {};
    sub.gate = new Promise((r) => (release = r));
    open.add('c1');
    const { subscribing } = hub.watch('c1', 'w1', ['a']);
    open.delete('c1');
    release();
    await subscribing;
    expect(sub.unsubscribes).toEqual([[keys.presenceEvents('a')]]);
    open.add('c1');
    expect(hub.watch('c1', 'w1', ['a']).fresh).toEqual(['a']); // watched afresh: nothing was left behind
  });
});
