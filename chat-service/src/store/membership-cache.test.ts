import type { Redis } from '@chat/server/clients';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ConversationStore } from './conversation-store.js';
import { MembershipCache, type MembershipCacheOptions } from './membership-cache.js';
import type { MembershipVersions } from './membership-versions.js';

function storeWith(membersOf: (cid: string) => number): ConversationStore {
  return {
    get: async (cid: string) => ({ conversation_id: cid, kind: 'group', title: 't', created_by: 'u0', created_at: 1, epoch: 'e' }),
    members: async (cid: string) => Array.from({ length: membersOf(cid) }, (_, i) => ({ user_id: `member-${cid}-${i}`, role: 'member', joined_at: 1 })),
  } as unknown as ConversationStore;
}

describe('MembershipCache memory', () => {
  it('item 15: cached conversations stay within the byte budget, whatever their member counts', async () => {
    const budget = 2 * 1024 * 1024;
    const cache = new MembershipCache(
      storeWith(() => 1000),
      {} as Redis,
      { channel: 'test:members-changed', maxBytes: budget },
    );
    for (let c = 0; c < 200; c++) {
      expect(await cache.isMember(String(c), `member-${c}-999`)).toBe(true);
      expect(cache.bytes).toBeLessThanOrEqual(budget);
    }
    expect(cache.bytes).toBeGreaterThan(budget / 2); // it does cache, up to the budget
  });

  it('item 15: a conversation larger than a quarter of the budget is served but not cached', async () => {
    let loads = 0;
    const store = storeWith(() => (loads++, 20_000));
    const cache = new MembershipCache(store, {} as Redis, { channel: 'test:members-changed', maxBytes: 1024 * 1024 });
    expect(await cache.isMember('1', 'member-1-19999')).toBe(true);
    expect(await cache.isMember('1', 'member-1-0')).toBe(true);
    expect(loads).toBe(2);
    expect(cache.bytes).toBe(0);
  });
});

/** A store counting its loads, whose member reads take `membersNow()` at once and answer when released. */
function gatedStore(membersNow: () => string[]) {
  const state = { reads: 0, release: [] as (() => void)[] };
  const gate = () => new Promise<void>((r) => state.release.push(r));
  const store = {
    get: async (cid: string) => {
      state.reads++;
      return { conversation_id: cid, kind: 'group', title: 't', created_by: 'u0', created_at: 1, epoch: 'e' };
    },
    members: async () => {
      const snapshot = membersNow().map((user_id) => ({ user_id, role: 'member', joined_at: 1, joined_seq: 0 }));
      await gate();
      return snapshot;
    },
  } as unknown as ConversationStore;
  const tick = () => new Promise((r) => setTimeout(r, 0));
  /** Lets every read started so far reach the gate, then answers them all. */
  const releaseAll = async () => {
    await tick();
    while (state.release.length > 0) {
      while (state.release.length > 0) state.release.shift()!();
      await tick();
    }
  };
  return { store, state, releaseAll };
}

describe('MembershipCache reloads', () => {
  afterEach(() => vi.useRealTimers());
  const opts = { channel: 'test:members-changed', ttlMs: 1000, staleMs: 1000, missTtlMs: 0 };

  it('serves a list past its TTL at once while one background reload refreshes it', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    let members = ['a'];
    const { store, state, releaseAll } = gatedStore(() => members);
    const cache = new MembershipCache(store, {} as Redis, opts);
    const first = cache.isMember('1', 'a');
    await releaseAll();
    expect(await first).toBe(true);
    members = ['b'];
    vi.advanceTimersByTime(1000); // past the TTL (jittered into its last quarter), inside the stale window
    // Answered from the old list without waiting for storage, by as many callers as ask.
    expect(await Promise.all([cache.isMember('1', 'a'), cache.isMember('1', 'a')])).toEqual([true, true]);
    expect(state.reads).toBe(2); // one background reload for both
    await releaseAll();
    expect(await cache.isMember('1', 'b')).toBe(true);
    expect(await cache.isMember('1', 'a')).toBe(false);
  });

  it('waits for the reload once the list is older than TTL + staleMs', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    let members = ['a'];
    const { store, releaseAll } = gatedStore(() => members);
    const cache = new MembershipCache(store, {} as Redis, opts);
    const first = cache.isMember('1', 'a');
    await releaseAll();
    await first;
    members = ['b'];
    vi.advanceTimersByTime(2001);
    const answer = cache.isMember('1', 'a');
    await releaseAll();
    expect(await answer).toBe(false);
  });

  it('an invalidation during a load keeps that load from being cached', async () => {
    let members = ['a'];
    const { store, state, releaseAll } = gatedStore(() => members);
    let onMessage: (channel: string, id: string) => void = () => undefined;
    const sub = { on: (_: string, f: typeof onMessage) => (onMessage = f), subscribe: async () => undefined } as unknown as Redis;
    const cache = new MembershipCache(store, {} as Redis, opts);
    await cache.listen(sub);
    const racing = cache.isMember('1', 'a');
    await new Promise((r) => setTimeout(r, 0)); // it has read the list from before the change
    members = ['b'];
    onMessage(opts.channel, '1');
    await releaseAll();
    expect(await racing).toBe(true);
    const after = cache.isMember('1', 'a'); // not answered from the discarded load: reads again
    await releaseAll();
    expect(await after).toBe(false);
    expect(state.reads).toBe(2);
  });

  it('lists loaded together fall due at different times', async () => {
    const { store, releaseAll } = gatedStore(() => ['a']);
    const cache = new MembershipCache(store, {} as Redis, { ...opts, ttlMs: 1_000_000 });
    const loads = Array.from({ length: 20 }, (_, i) => cache.get(String(i)));
    await releaseAll();
    const due = (await Promise.all(loads)).map((e) => e!.refreshAt - e!.loadedAt);
    expect(new Set(due).size).toBeGreaterThan(1);
    for (const d of due) expect(d).toBeGreaterThanOrEqual(750_000);
    for (const d of due) expect(d).toBeLessThanOrEqual(1_000_000);
  });

  /** Membership tokens in memory, as RedisMembershipVersions keeps them. */
  function tokens() {
    const state = { tokens: new Map<string, string>(), reads: 0, next: 0, failing: false };
    const versions: MembershipVersions = {
      current: async (cid) => {
        state.reads++;
        if (state.failing) throw new Error('redis down');
        if (!state.tokens.has(cid)) state.tokens.set(cid, `t${state.next++}`);
        return state.tokens.get(cid)!;
      },
      bump: async (cid) => void state.tokens.set(cid, `t${state.next++}`),
    };
    return { versions, state };
  }

  /** A cache with tokens that has loaded conversation '1' (members ['a']); its list is due 1000 ms later. */
  async function loadedWithTokens(options: Partial<MembershipCacheOptions> = {}) {
    vi.useFakeTimers({ toFake: ['Date'] });
    const gated = gatedStore(() => ['a']);
    const t = tokens();
    const cache = new MembershipCache(gated.store, {} as Redis, { ...opts, versions: t.versions, ...options });
    const first = cache.get('1');
    await gated.releaseAll();
    const loaded = (await first)!;
    return { ...gated, t, cache, loaded };
  }

  it('a list due for its reload whose token is unchanged is confirmed from the token, without a storage read', async () => {
    const { state, releaseAll, t, cache, loaded } = await loadedWithTokens();
    for (let i = 0; i < 3; i++) {
      vi.advanceTimersByTime(1000); // due
      expect(await cache.isMember('1', 'a')).toBe(true); // served, confirmed in the background
      await releaseAll();
      expect(cache.bytes).toBeGreaterThan(0);
    }
    expect(state.reads).toBe(1);
    expect(t.state.reads).toBe(4);
    vi.advanceTimersByTime(500); // confirmed less than a TTL ago: not due, nothing read
    expect(await cache.isMember('1', 'a')).toBe(true);
    expect(t.state.reads).toBe(4);
    expect((await cache.get('1'))!.refreshAt).toBeGreaterThan(loaded.refreshAt);
  });

  it('a missed invalidation is found at the next confirmation: the token changed, the list is reloaded', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    let members = ['a'];
    const { store, state, releaseAll } = gatedStore(() => members);
    const t = tokens();
    const here = new MembershipCache(store, {} as Redis, { ...opts, versions: t.versions });
    const elsewhere = new MembershipCache(store, { publish: async () => 0 } as unknown as Redis, { ...opts, versions: t.versions });
    const first = here.isMember('1', 'a');
    await releaseAll();
    expect(await first).toBe(true);
    members = ['b'];
    await elsewhere.invalidate('1'); // its message never reaches `here`
    vi.advanceTimersByTime(1000);
    here.get('1').catch(() => undefined); // due: confirmation finds another token and reloads
    await releaseAll();
    expect(await here.isMember('1', 'a')).toBe(false);
    expect(await here.isMember('1', 'b')).toBe(true);
    expect(state.reads).toBe(2);
  });

  it('without a readable token (Redis down) a due list is reloaded from storage', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const { store, state, releaseAll } = gatedStore(() => ['a']);
    const t = tokens();
    t.state.failing = true;
    const cache = new MembershipCache(store, {} as Redis, { ...opts, versions: t.versions });
    const first = cache.get('1');
    await releaseAll();
    expect((await first)!.version).toBeNull();
    t.state.failing = false; // a token now exists, but the list was not read under it
    vi.advanceTimersByTime(1000);
    cache.get('1').catch(() => undefined);
    await releaseAll();
    expect(state.reads).toBe(2);
  });

  it('a conversation id that does not exist creates no token (probing ids costs Redis nothing)', async () => {
    const t = tokens();
    const store = { get: async () => null, members: async () => [] } as unknown as ConversationStore;
    const cache = new MembershipCache(store, {} as Redis, { ...opts, versions: t.versions });
    expect(await cache.get('404')).toBeNull();
    expect(t.state.reads).toBe(0);
    expect(t.state.tokens.size).toBe(0);
  });

  it('a list confirmed by its token is still read from storage again after reloadAfterMs', async () => {
    const { state, releaseAll, cache } = await loadedWithTokens({ reloadAfterMs: 5000 });
    for (let i = 0; i < 6; i++) {
      vi.advanceTimersByTime(1000);
      cache.get('1').catch(() => undefined);
      await releaseAll();
    }
    expect(state.reads).toBe(2); // confirmed 4 times, then read again at 5 s
  });

  it('a due list whose token cannot be read is reloaded after one failed token read, not two', async () => {
    const { state, releaseAll, t, cache } = await loadedWithTokens();
    t.state.failing = true;
    const before = t.state.reads;
    vi.advanceTimersByTime(1000);
    cache.get('1').catch(() => undefined);
    await releaseAll();
    expect(state.reads).toBe(2);
    expect(t.state.reads - before).toBe(1);
  });
});
