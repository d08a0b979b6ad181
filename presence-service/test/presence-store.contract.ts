import { describe, expect, it } from 'vitest';
import type { PresenceStore } from '../src/presence-store.js';

export interface PresenceStoreFixture {
  store: PresenceStore;
  /** Advances the store's clock. */
  advance(ms: number): void;
  /** Presence events published so far, in order. */
  events(): { user_id: string; online: boolean; last_seen?: number }[];
  ttlMs: number;
  graceMs: number;
}

/** The PresenceStore contract; run it against every implementation. */
export function describePresenceStore(name: string, factory: () => Promise<PresenceStoreFixture>): void {
  describe(`PresenceStore contract: ${name}`, () => {
    it('publishes online once and keeps a user online while any gateway claims it', async () => {
      const f = await factory();
      await f.store.heartbeat('g1', ['u']);
      await f.store.heartbeat('g2', ['u']);
      await f.store.heartbeat('g1', ['u']);
      await f.store.disconnect('g1', ['u']);
      f.advance(f.graceMs + 1);
      await f.store.sweep();
      expect(await f.store.query(['u'])).toEqual([{ user_id: 'u', online: true }]);
      await f.store.disconnect('g2', ['u']);
      f.advance(f.graceMs + 1);
      expect((await f.store.sweep()).offline).toBe(1);
      expect((await f.store.sweep()).offline).toBe(0);
      const [q] = await f.store.query(['u']);
      expect(q).toMatchObject({ user_id: 'u', online: false, last_seen: expect.any(Number) });
      await waitEvents(f, 2);
      expect(f.events().map((e) => e.online)).toEqual([true, false]);
    });

    it('coalesces a reconnect within the grace: no events', async () => {
      const f = await factory();
      await f.store.heartbeat('g1', ['v']);
      await f.store.disconnect('g1', ['v']);
      f.advance(f.graceMs / 2);
      await f.store.heartbeat('g1', ['v']);
      f.advance(f.graceMs);
      await f.store.sweep();
      await waitEvents(f, 1);
      expect(f.events()).toEqual([{ v: 1, user_id: 'v', online: true }]);
    });

    it('answers a query for many users at once: online, in their grace (online), offline with last seen, never seen', async () => {
      const f = await factory();
      const on = Array.from({ length: 600 }, (_, i) => `on${i}`);
      await f.store.heartbeat('g1', [...on, 'grace', 'gone']);
      await f.store.disconnect('g1', ['gone']);
      f.advance(f.graceMs + 1);
      await f.store.sweep();
      await f.store.disconnect('g1', ['grace']);
      const states = await f.store.query([...on, 'grace', 'gone', 'never']);
      expect(states.slice(0, on.length).every((s, i) => s.user_id === on[i] && s.online)).toBe(true);
      expect(states.slice(on.length)).toEqual([
        { user_id: 'grace', online: true },
        { user_id: 'gone', online: false, last_seen: expect.any(Number) },
        { user_id: 'never', online: false },
      ]);
    });

    it('sweeps a user whose claims lapsed (crashed gateway) exactly once', async () => {
      const f = await factory();
      await f.store.heartbeat('g1', ['w1', 'w2']);
      f.advance(f.ttlMs - 10);
      expect((await f.store.sweep()).offline).toBe(0);
      f.advance(20);
      const [a, b] = await Promise.all([f.store.sweep(), f.store.sweep()]);
      expect(a.offline + b.offline).toBe(2);
      await waitEvents(f, 4);
      expect(
        f
          .events()
          .filter((e) => !e.online)
          .map((e) => e.user_id)
          .sort(),
      ).toEqual(['w1', 'w2']);
    });
  });
}

async function waitEvents(f: PresenceStoreFixture, n: number): Promise<void> {
  const deadline = Date.now() + 2000;
  while (f.events().length < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
}
