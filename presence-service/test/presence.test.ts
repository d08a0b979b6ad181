import { Errors } from '@chat/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PresenceHarness, TEST_TIMINGS, waitFor, type GatewayProcess } from './support/harness.js';

const TTL_MS = Number(TEST_TIMINGS.PRESENCE_TTL_SECONDS) * 1000;
const SWEEP_MS = Number(TEST_TIMINGS.PRESENCE_SWEEP_INTERVAL_MS);
const GRACE_MS = Number(TEST_TIMINGS.PRESENCE_OFFLINE_GRACE_MS);
const FLUSH_MS = Number(TEST_TIMINGS.PRESENCE_FLUSH_MS);
const SLACK_MS = 1000;

const h = new PresenceHarness();
let gw1: GatewayProcess;
let gw2: GatewayProcess;

beforeAll(async () => {
  await h.start();
  [gw1, gw2] = await Promise.all([h.gateway('gw1'), h.gateway('gw2')]);
});
afterAll(() => h.close());

describe('presence across gateway processes', () => {
  it('keeps a user with two devices online until both are gone, then reports offline once within the bound', async () => {
    const alice = h.user('alice');
    const bob = h.user('bob');
    const stranger = h.user('stranger');
    await h.conversation([alice, bob]);
    const a1 = await h.connect(gw1, alice);
    const a2 = await h.connect(gw2, alice);
    const b = await h.connect(gw1, bob);
    await h.connect(gw2, stranger);

    await waitFor(
      async () => {
        const r = await b.request({ type: 'presence.sub', user_ids: [alice] });
        return r.type === 'presence' && r.users[0]?.online === true;
      },
      5000,
      'alice online',
    );
    // Users who share no conversation with the caller are left out.
    const r = await b.request({ type: 'presence.sub', user_ids: [alice, stranger] });
    expect(r).toMatchObject({ type: 'presence', users: [{ user_id: alice, online: true }] });

    a1.close();
    await new Promise((res) => setTimeout(res, GRACE_MS + SWEEP_MS + FLUSH_MS + 500));
    expect(b.presenceEvents(alice)).toEqual([]);
    const still = await b.request({ type: 'presence.sub', user_ids: [alice] });
    expect(still).toMatchObject({ users: [{ user_id: alice, online: true }] });

    const t0 = Date.now();
    a2.close();
    await waitFor(() => b.presenceEvents(alice).length > 0, GRACE_MS + SWEEP_MS + FLUSH_MS + SLACK_MS, 'offline event');
    expect(Date.now() - t0).toBeLessThanOrEqual(GRACE_MS + SWEEP_MS + FLUSH_MS + SLACK_MS);
    const [ev] = b.presenceEvents(alice);
    expect(ev?.online).toBe(false);
    expect(ev?.last_seen).toBeGreaterThanOrEqual(t0 - 100);
    await new Promise((res) => setTimeout(res, SWEEP_MS * 2 + FLUSH_MS * 2));
    expect(b.presenceEvents(alice)).toHaveLength(1);
  });

  it('reports the users of a SIGKILLed gateway offline within TTL + sweep interval, one event per user', async () => {
    const doomed = await h.gateway('doomed');
    const watcher = h.user('watcher');
    const users = [h.user('k1'), h.user('k2'), h.user('k3')];
    await h.conversation([watcher, ...users]);
    for (const u of users) await h.connect(doomed, u);
    const w = await h.connect(gw2, watcher);
    await waitFor(
      async () => {
        const r = await w.request({ type: 'presence.sub', user_ids: users });
        return r.type === 'presence' && r.users.length === users.length && r.users.every((u) => u.online);
      },
      5000,
      'users online',
    );

    const t0 = Date.now();
    await doomed.stop('SIGKILL');
    const bound = TTL_MS + SWEEP_MS + FLUSH_MS + SLACK_MS;
    await waitFor(() => users.every((u) => w.presenceEvents(u).length > 0), bound, 'offline events');
    expect(Date.now() - t0).toBeLessThanOrEqual(bound);
    await new Promise((res) => setTimeout(res, SWEEP_MS * 2 + FLUSH_MS * 2));
    for (const u of users) expect(w.presenceEvents(u)).toEqual([{ user_id: u, online: false, last_seen: expect.any(Number) }]);
  });

  it('relays typing to members on other gateways only, expires it 3 s after the last refresh and throttles a flood', async () => {
    const alice = h.user('typist');
    const bob = h.user('reader');
    const carol = h.user('outsider');
    const conv = await h.conversation([alice, bob]);
    await h.conversation([carol, h.user('other')]);
    const a = await h.connect(gw1, alice);
    const b = await h.connect(gw2, bob);
    const c = await h.connect(gw2, carol);

    // A non-member is refused (the error echoes ref) and nobody sees anything.
    expect(await c.request({ type: 'typing', conversation_id: conv, state: 'start' })).toMatchObject({ type: 'error', code: Errors.NOT_MEMBER.code });

    a.send({ type: 'typing', conversation_id: conv, state: 'start' });
    await waitFor(() => b.typing(conv).length === 1, 5000, 'typing start');
    expect(b.typing(conv)[0]).toEqual({ type: 'typing', conversation_id: conv, user_id: alice, state: 'start' });

    // Flood: 100 starts in a burst reach the reader at most once per throttle interval.
    await new Promise((res) => setTimeout(res, 1100));
    const before = b.typing(conv).length;
    const lastRefresh = Date.now();
    for (let i = 0; i < 100; i++) a.send({ type: 'typing', conversation_id: conv, state: 'start' });
    await waitFor(() => b.typing(conv).some((f, i) => i >= before && f.state === 'stop'), 5000, 'typing stop');
    const stopAt = Date.now();
    const after = b.typing(conv).slice(before);
    expect(after.filter((f) => f.state === 'start')).toHaveLength(1);
    expect(after.at(-1)?.state).toBe('stop');
    // Expired 3 s (TYPING_TTL_MS) after the last refresh.
    expect(stopAt - lastRefresh).toBeGreaterThanOrEqual(Number(TEST_TIMINGS.TYPING_TTL_MS) - 200);
    expect(stopAt - lastRefresh).toBeLessThanOrEqual(Number(TEST_TIMINGS.TYPING_TTL_MS) + 800);
    expect(a.typing()).toEqual([]);
    expect(c.typing()).toEqual([]);

    // An explicit stop is relayed at once.
    a.send({ type: 'typing', conversation_id: conv, state: 'start' });
    await waitFor(() => b.typing(conv).length === before + 3, 5000, 'second start');
    a.send({ type: 'typing', conversation_id: conv, state: 'stop' });
    await waitFor(() => b.typing(conv).at(-1)?.state === 'stop' && b.typing(conv).length === before + 4, 2000, 'explicit stop');
  });

  it('relays typing at once to a member who connects after an earlier event of the conversation was routed (kept routes are dropped by the connect)', async () => {
    const alice = h.user('typist2');
    const bob = h.user('reader2');
    const dora = h.user('latecomer');
    const conv = await h.conversation([alice, bob, dora]);
    const a = await h.connect(gw1, alice);
    const b = await h.connect(gw2, bob);
    a.send({ type: 'typing', conversation_id: conv, state: 'start' });
    await waitFor(() => b.typing(conv).length === 1, 5000, 'typing start'); // routed while dora was offline

    const d = await h.connect(gw2, dora); // registered (and announced) before the upgrade completes
    a.send({ type: 'typing', conversation_id: conv, state: 'stop' });
    await waitFor(() => b.typing(conv).length === 2, 5000, 'typing stop to bob');
    await waitFor(() => d.typing(conv).length === 1, 2000, 'typing stop to the member who just connected');
    expect(d.typing(conv)[0]).toEqual({ type: 'typing', conversation_id: conv, user_id: alice, state: 'stop' });
  });

  it('unsubscribes: no more events after presence.unsub', async () => {
    const x = h.user('x');
    const y = h.user('y');
    await h.conversation([x, y]);
    const cx = await h.connect(gw1, x);
    const cy = await h.connect(gw2, y);
    await waitFor(async () => (await cx.request({ type: 'presence.sub', user_ids: [y] })).type === 'presence', 5000, 'sub');
    expect(await cx.request({ type: 'presence.unsub', user_ids: [y] })).toMatchObject({ type: 'presence', users: [] });
    cy.close();
    await new Promise((res) => setTimeout(res, GRACE_MS + SWEEP_MS + FLUSH_MS + 500));
    expect(cx.presenceEvents(y)).toEqual([]);
  });
});
