import { Errors } from '@chat/protocol';
import type { PresenceQueryRequest, PresenceQueryResponse } from '@chat/protocol/internal';
import { describe, expect, it } from 'vitest';
import { ServiceUnreachableError } from './internal-http.js';
import { HttpPresenceClient, type PresenceInstanceClient } from './presence-client.js';
import { PresenceInstances } from './presence-instances.js';

const urls = ['http://127.0.0.1:8083', 'http://127.0.0.1:8087', 'http://127.0.0.1:8088'];
const instances = (list: readonly string[]) =>
  new PresenceInstances(
    list,
    list.map((url) => new HttpPresenceClient({ url, internalToken: 't' })),
  );

describe('PresenceInstances ranking', () => {
  it('ranks instances by key the same way whatever the order of the configured list', () => {
    const a = instances(urls);
    const b = instances([...urls].reverse());
    for (let i = 0; i < 200; i++) {
      const key = `conv|${i}`;
      expect(urls[a.rank(key)[0]!]).toBe([...urls].reverse()[b.rank(key)[0]!]);
    }
  });

  it('spreads keys over the instances, and removing one moves only the keys it had', () => {
    const all = instances(urls);
    const two = instances(urls.slice(0, 2));
    const counts = [0, 0, 0];
    let moved = 0;
    for (let i = 0; i < 3000; i++) {
      const key = `user|u${i}`;
      const first = all.rank(key)[0]!;
      counts[first]!++;
      if (first < 2 && two.rank(key)[0] !== first) moved++;
    }
    for (const c of counts) expect(c).toBeGreaterThan(800);
    expect(moved).toBe(0);
  });
});

/** An instance that records the batches it gets and answers every user online (or is unreachable). */
function fakeInstance(unreachable = false) {
  const batches: PresenceQueryRequest[] = [];
  const client = {
    queryBatch: async (request: PresenceQueryRequest): Promise<PresenceQueryResponse> => {
      if (unreachable) throw new ServiceUnreachableError(Errors.UNAVAILABLE, 'unreachable');
      batches.push(request);
      const users = [...new Set(request.checks.flatMap((c) => c.user_ids))];
      return { users: users.map((u) => ({ user_id: u, online: true })), allowed: request.checks.map((c) => c.user_ids.map((u) => users.indexOf(u))) };
    },
  } as unknown as PresenceInstanceClient;
  return { client, batches };
}

describe('PresenceInstances queries', () => {
  it('sends the queries that arrive together as one batch to one instance, whichever instance each watcher ranks first', async () => {
    const a = fakeInstance();
    const b = fakeInstance();
    const two = new PresenceInstances(urls.slice(0, 2), [a.client, b.client]);
    const watchers = Array.from({ length: 40 }, (_, i) => `w${i}`);
    expect(new Set(watchers.map((w) => two.rank(`user|${w}`)[0])).size).toBe(2); // they rank both instances first
    const replies = await Promise.all(watchers.map((w) => two.query(w, [`${w}-friend`, 'shared'])));
    expect(a.batches.length + b.batches.length).toBe(1);
    const [batch] = [...a.batches, ...b.batches];
    expect(batch!.checks.map((c) => c.user_id)).toEqual(watchers);
    replies.forEach((states, i) => expect(states.map((s) => s.user_id)).toEqual([`w${i}-friend`, 'shared']));
  });

  it('sends a batch to the next instance when the first is unreachable', async () => {
    const down = fakeInstance(true);
    const up = fakeInstance();
    const two = new PresenceInstances(urls.slice(0, 2), [down.client, up.client]);
    const watcher = Array.from({ length: 100 }, (_, i) => `w${i}`).find((w) => two.rank(`user|${w}`)[0] === 0)!;
    expect(await two.query(watcher, ['x'])).toEqual([{ user_id: 'x', online: true }]);
    expect(up.batches).toHaveLength(1);
  });
});
