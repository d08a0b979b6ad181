import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PresenceHarness, TEST_TIMINGS, waitFor, type GatewayProcess, type TestClient } from './support/harness.js';

const SWEEP_MS = Number(TEST_TIMINGS.PRESENCE_SWEEP_INTERVAL_MS);
const GRACE_MS = Number(TEST_TIMINGS.PRESENCE_OFFLINE_GRACE_MS);
const FLUSH_MS = Number(TEST_TIMINGS.PRESENCE_FLUSH_MS);
/** The documented bound after the last transition (grace + sweep + flush), plus the slack the other presence tests allow. */
const BOUND_MS = GRACE_MS + SWEEP_MS + FLUSH_MS + 1000;

const h = new PresenceHarness();
let gw1: GatewayProcess;
let gw2: GatewayProcess;

beforeAll(async () => {
  await h.start(2);
  [gw1, gw2] = await Promise.all([h.gateway('gw1'), h.gateway('gw2')]);
});
afterAll(() => h.close());

/** What a watcher believes: its subscribe reply, then every transition frame in order. */
function view(w: TestClient, reply: { users: { user_id: string; online: boolean }[] }): Map<string, boolean> {
  const out = new Map(reply.users.map((u) => [u.user_id, u.online]));
  for (const f of w.frames) if (f.type === 'presence' && f.ref === undefined) for (const u of f.users) out.set(u.user_id, u.online);
  return out;
}

describe('two presence-service instances, one SIGKILLed while users flap', () => {
  it('keeps watchers converging to the truth within the offline bound, loses no presence state, and typing keeps working through the survivor', async () => {
    const steady = Array.from({ length: 5 }, (_, i) => h.user(`steady${i}`));
    const flappers = Array.from({ length: 20 }, (_, i) => h.user(`flap${i}`));
    const watchers = [h.user('watcher1'), h.user('watcher2')];
    const everyone = [...watchers, ...steady, ...flappers];
    // Several conversations, so some of them rank the killed instance first for typing.
    const conversations = await Promise.all(Array.from({ length: 8 }, () => h.conversation(everyone)));
    const gws = [gw1, gw2];

    const connected = new Map<string, TestClient>();
    for (const [i, u] of [...steady, ...flappers].entries()) connected.set(u, await h.connect(gws[i % 2]!, u));
    const w = [await h.connect(gw1, watchers[0]!), await h.connect(gw2, watchers[1]!)];
    const watched = [...steady, ...flappers];
    const replies = await Promise.all(
      w.map(async (c) => {
        let reply: { users: { user_id: string; online: boolean }[] } = { users: [] };
        await waitFor(
          async () => {
            const r = await c.request({ type: 'presence.sub', user_ids: watched });
            if (r.type !== 'presence') return false;
            reply = r;
            return r.users.length === watched.length && r.users.every((u) => u.online);
          },
          5000,
          'everyone online',
        );
        return reply;
      }),
    );
    const frameCount = w.map((c) => c.frames.length);

    // Flap for 4 s: a random flapper disconnects or reconnects every 40 ms; instance 1 is SIGKILLed halfway.
    let killed = false;
    const started = Date.now();
    for (let step = 0; Date.now() - started < 4000; step++) {
      if (!killed && Date.now() - started > 2000) {
        await h.instances[0]!.stop('SIGKILL');
        killed = true;
      }
      const u = flappers[Math.floor(Math.random() * flappers.length)]!;
      const c = connected.get(u);
      if (c) {
        c.close();
        connected.delete(u);
      } else connected.set(u, await h.connect(gws[step % 2]!, u));
      await new Promise((r) => setTimeout(r, 40));
    }
    expect(killed).toBe(true);
    const lastTransition = Date.now();

    const mismatches = () => {
      let n = 0;
      for (const [i, c] of w.entries()) {
        const seen = view(c, replies[i]!);
        for (const u of watched) if (seen.get(u) !== connected.has(u)) n++;
      }
      return n;
    };
    await waitFor(() => mismatches() === 0, BOUND_MS, 'watchers to converge');
    expect(Date.now() - lastTransition).toBeLessThanOrEqual(BOUND_MS);
    // Settled: nothing changes any more, and users that never disconnected were never reported offline.
    await new Promise((r) => setTimeout(r, 2 * (SWEEP_MS + FLUSH_MS)));
    expect(mismatches()).toBe(0);
    for (const [i, c] of w.entries()) {
      const later = c.frames.slice(frameCount[i]);
      for (const u of steady) expect(later.some((f) => f.type === 'presence' && f.users.some((s) => s.user_id === u))).toBe(false);
    }

    // Typing in every conversation reaches the other gateway's members through the survivor.
    const [typist, reader] = [connected.get(steady[0]!)!, w[1]!];
    for (const conv of conversations) typist.send({ type: 'typing', conversation_id: conv, state: 'start' });
    await waitFor(() => conversations.every((conv) => reader.typing(conv).some((f) => f.user_id === steady[0] && f.state === 'start')), 5000, 'typing');
    for (const conv of conversations) typist.send({ type: 'typing', conversation_id: conv, state: 'stop' });
    await waitFor(() => conversations.every((conv) => reader.typing(conv).at(-1)?.state === 'stop'), 5000, 'typing stop');
  });
});
