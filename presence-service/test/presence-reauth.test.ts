import cassandra from 'cassandra-driver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PresenceHarness, TEST_TIMINGS, waitFor, type GatewayProcess } from './support/harness.js';

// Presence subscriptions are authorized on every transition, not only when subscribing.
const FLUSH_MS = Number(TEST_TIMINGS.PRESENCE_FLUSH_MS);
const CACHE_MS = Number(TEST_TIMINGS.PRESENCE_MEMBERSHIP_CACHE_MS);

const h = new PresenceHarness();
let gw: GatewayProcess;

beforeAll(async () => {
  await h.start();
  gw = await h.gateway('gw');
});
afterAll(() => h.close());

async function leave(conversationId: string, userId: string): Promise<void> {
  const id = cassandra.types.Long.fromString(conversationId);
  await h.db.batch(
    [
      { query: 'DELETE FROM conversation_members WHERE conversation_id = ? AND user_id = ?', params: [id, userId] },
      { query: 'DELETE FROM user_conversations WHERE user_id = ? AND conversation_id = ?', params: [userId, id] },
    ],
    { prepare: true, logged: false },
  );
}

describe('presence re-authorization', () => {
  it('item 17: a watcher that left every shared conversation gets no more transitions of that user, while a remaining member does', async () => {
    const target = h.user('target');
    const leaver = h.user('leaver');
    const stayer = h.user('stayer');
    const conv = await h.conversation([target, leaver, stayer]);
    let t = await h.connect(gw, target);
    const w = await h.connect(gw, leaver);
    const probe = await h.connect(gw, leaver);
    const v = await h.connect(gw, stayer);
    for (const c of [w, v]) {
      await waitFor(
        async () => {
          const r = await c.request({ type: 'presence.sub', user_ids: [target] });
          return r.type === 'presence' && r.users[0]?.online === true;
        },
        5000,
        'target online',
      );
    }

    // Both see a transition while they share the conversation.
    t.close();
    await waitFor(() => v.presenceEvents(target).length === 1 && w.presenceEvents(target).length === 1, 5000, 'offline seen by both');
    t = await h.connect(gw, target);
    await waitFor(() => v.presenceEvents(target).length === 2 && w.presenceEvents(target).length === 2, 5000, 'online seen by both');

    await leave(conv, leaver);
    // presence-service's membership cache (PRESENCE_MEMBERSHIP_CACHE_MS) has caught up when a new
    // subscription of the leaver is refused.
    await waitFor(
      async () => {
        const r = await probe.request({ type: 'presence.sub', user_ids: [target] });
        return r.type === 'presence' && r.users.length === 0;
      },
      CACHE_MS + 5000,
      'the leaver to be refused',
    );

    t.close();
    await waitFor(() => v.presenceEvents(target).length === 3, 5000, 'offline seen by the remaining member');
    t = await h.connect(gw, target);
    await waitFor(() => v.presenceEvents(target).length === 4, 5000, 'online seen by the remaining member');
    await new Promise((r) => setTimeout(r, FLUSH_MS * 3)); // the same flush window has passed for the leaver
    expect(w.presenceEvents(target)).toHaveLength(2);
    // Subscribing again is authorized again: refused.
    expect(await w.request({ type: 'presence.sub', user_ids: [target] })).toMatchObject({ type: 'presence', users: [] });
  });
});
