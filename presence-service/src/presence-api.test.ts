import { PRESENCE_PATHS, type PresenceQueryResponse, type PresenceState } from '@chat/protocol/internal';
import { createLogger } from '@chat/server/logger';
import { describe, expect, it } from 'vitest';
import type { Membership } from './membership.js';
import { presenceRoutes } from './presence-api.js';
import type { PresenceStore } from './presence-store.js';
import { TypingRelay } from './typing-relay.js';

/** Conversations: g1 = {a, b, c}, g2 = {c, d}; e is in none with anyone asked about. */
const conversations: Record<string, string[]> = { g1: ['a', 'b', 'c'], g2: ['c', 'd'], g3: ['e'] };

function setup(cachedLists: Record<string, string[][]> = {}) {
  const reads: string[] = [];
  const membership: Membership = {
    conversationsOf: async (u) => {
      reads.push(`conversations:${u}`);
      return new Set(Object.keys(conversations).filter((c) => conversations[c]!.includes(u)));
    },
    membersOf: async (c) => {
      reads.push(`members:${c}`);
      return conversations[c] ?? [];
    },
    cachedMemberListsOf: (u) => (cachedLists[u] ?? []).map((l) => new Set(l)),
  };
  const stateReads: string[][] = [];
  const store: PresenceStore = {
    heartbeat: async () => {},
    disconnect: async () => {},
    sweep: async () => ({ examined: 0, offline: 0 }),
    query: async (ids): Promise<PresenceState[]> => {
      stateReads.push([...ids]);
      return ids.map((u) => ({ user_id: u, online: u !== 'd' }));
    },
  };
  const typing = new TypingRelay(membership, { deliver: async () => 0 }, createLogger('t', 'silent'), { ttlMs: 3000, throttleMs: 1000, maxTypists: 2 });
  const query = presenceRoutes(store, membership, typing)[PRESENCE_PATHS.query]!;
  const run = async (checks: { user_id: string; user_ids: string[] }[]) => {
    const res = (await query({ checks })) as PresenceQueryResponse;
    return res.allowed.map((list) => list.map((i) => res.users[i]!.user_id));
  };
  return { run, reads, stateReads, close: () => typing.close() };
}

describe('presence query', () => {
  it('answers a batch of checks with one state read of the users any of them may see, each watcher only its own', async () => {
    const s = setup();
    const seen = await s.run([
      { user_id: 'a', user_ids: ['b', 'c', 'd', 'e'] },
      { user_id: 'd', user_ids: ['a', 'c', 'e'] },
      { user_id: 'e', user_ids: ['a', 'e'] },
    ]);
    expect(seen).toEqual([['b', 'c'], ['c'], ['e']]);
    expect(s.stateReads).toEqual([['b', 'c', 'e']]);
    s.close();
  });

  it('authorizes from cached member lists holding the watcher without reading, and falls back to reads for anyone they do not hold', async () => {
    const s = setup({ a: [conversations.g1!] });
    expect(await s.run([{ user_id: 'a', user_ids: ['b', 'c', 'a'] }])).toEqual([['b', 'c', 'a']]);
    expect(s.reads).toEqual([]);
    // d shares nothing with a: the lists do not prove it, so a's conversations are read and d stays hidden.
    expect(await s.run([{ user_id: 'a', user_ids: ['b', 'd'] }])).toEqual([['b']]);
    expect(s.reads).toContain('conversations:a');
    s.close();
  });
});
