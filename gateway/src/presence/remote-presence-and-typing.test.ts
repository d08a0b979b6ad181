import { EventEmitter } from 'node:events';
import { ChatError, Errors } from '@chat/protocol';
import type { PresenceState } from '@chat/protocol/internal';
import type { Redis } from '@chat/server/clients';
import type { Logger } from '@chat/server/logger';
import { describe, expect, it } from 'vitest';
import type { PresenceClient } from '../backend/presence-client.js';
import { PresenceHub } from './presence-hub.js';
import { RemotePresenceAndTyping } from './remote-presence-and-typing.js';

const silent = { warn: () => {}, child: () => silent } as unknown as Logger;

/** presence-service as the gateway sees it: the caller may see users not starting with 'hidden', each once, in order. */
function fakeClient(fail = false) {
  const queries: string[][] = [];
  const client = {
    query: async (_userId: string, userIds: readonly string[]): Promise<PresenceState[]> => {
      queries.push([...userIds]);
      if (fail) throw new ChatError(Errors.UNAVAILABLE);
      return [...new Set(userIds)].filter((u) => !u.startsWith('hidden')).map((u) => ({ user_id: u, online: u.startsWith('on') }));
    },
  } as unknown as PresenceClient;
  return { client, queries };
}

function setup() {
  const subscriber = Object.assign(new EventEmitter(), {
    subscribed: [] as string[],
    unsubscribed: [] as string[],
    async subscribe(...channels: string[]) {
      this.subscribed.push(...channels);
    },
    async unsubscribe(...channels: string[]) {
      this.unsubscribed.push(...channels);
    },
  });
  const hub = new PresenceHub(
    subscriber as unknown as Redis,
    'rp:',
    () => {},
    1000,
    silent,
    () => true,
    async () => new Map(),
  );
  const { client, queries } = fakeClient();
  const presence = new RemotePresenceAndTyping(client, hub, 1000);
  const caller = { userId: 'w', connectionId: 'c1' };
  return { subscriber, hub, presence, caller, queries };
}

describe('RemotePresenceAndTyping.presence', () => {
  it('answers each visible user once, even when the frame repeats ids', async () => {
    const { presence, caller, subscriber, queries } = setup();
    const reply = await presence.presence(caller, { type: 'presence.sub', ref: 'r1', user_ids: ['on1', 'off1', 'on1'] });
    expect(queries).toHaveLength(1);
    expect(reply).toEqual({
      type: 'presence',
      ref: 'r1',
      users: [
        { user_id: 'on1', online: true },
        { user_id: 'off1', online: false },
      ],
    });
    expect(subscriber.subscribed).toHaveLength(2);
  });

  it('stops watching the users the caller may not see, at once', async () => {
    const { presence, caller, subscriber, hub } = setup();
    const reply = await presence.presence(caller, { type: 'presence.sub', ref: 'r1', user_ids: ['on1', 'hidden1'] });
    expect(reply).toMatchObject({ users: [{ user_id: 'on1', online: true }] });
    expect(subscriber.unsubscribed).toEqual(['rp:presence:u:hidden1']);
    // on1 is still watched: subscribing again adds nothing.
    expect(hub.watch('c1', 'w', ['on1']).fresh).toEqual([]);
  });

  it('unwatches only the users this subscribe added when the query fails', async () => {
    const { presence, caller, hub } = setup();
    await presence.presence(caller, { type: 'presence.sub', ref: 'r1', user_ids: ['on1'] });
    // The same hub, a failing presence-service.
    const broken = new RemotePresenceAndTyping(fakeClient(true).client, hub, 1000);
    await expect(broken.presence(caller, { type: 'presence.sub', ref: 'r2', user_ids: ['on1', 'on2'] })).rejects.toMatchObject({
      def: Errors.UNAVAILABLE,
    });
    expect(hub.watch('c1', 'w', ['on1', 'on2']).fresh).toEqual(['on2']);
  });

  it('unsubscribes with an empty reply', async () => {
    const { presence, caller, subscriber } = setup();
    await presence.presence(caller, { type: 'presence.sub', ref: 'r1', user_ids: ['on1'] });
    const reply = await presence.presence(caller, { type: 'presence.unsub', ref: 'r2', user_ids: ['on1', 'on1'] });
    expect(reply).toEqual({ type: 'presence', ref: 'r2', users: [] });
    expect(subscriber.unsubscribed).toEqual(['rp:presence:u:on1']);
  });
});
