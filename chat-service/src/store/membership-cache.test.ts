import type { Redis } from '@chat/server/clients';
import { describe, expect, it } from 'vitest';
import type { ConversationStore } from './conversation-store.js';
import { MembershipCache } from './membership-cache.js';

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
