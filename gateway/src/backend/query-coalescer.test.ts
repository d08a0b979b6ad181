import { ChatError, Errors } from '@chat/protocol';
import { MAX_QUERY_BATCH_USERS, type PresenceQueryRequest, type PresenceQueryResponse } from '@chat/protocol/internal';
import { describe, expect, it } from 'vitest';
import { QueryCoalescer, statesByCheck } from './query-coalescer.js';

/** A presence-service stand-in: everyone may see users whose id starts with 'ok', states listed once. */
function answer(request: PresenceQueryRequest): PresenceQueryResponse {
  const users: PresenceQueryResponse['users'] = [];
  const index = new Map<string, number>();
  const allowed = request.checks.map((c) =>
    c.user_ids
      .filter((u) => u.startsWith('ok'))
      .map((u) => {
        if (!index.has(u)) index.set(u, users.push({ user_id: u, online: true }) - 1);
        return index.get(u)!;
      }),
  );
  return { users, allowed };
}

describe('QueryCoalescer', () => {
  it('puts the queries of one event-loop turn into one request and gives each caller its own states', async () => {
    const batches: PresenceQueryRequest[] = [];
    const c = new QueryCoalescer(async (request) => {
      batches.push(request);
      return answer(request);
    });
    const [a, b] = await Promise.all([c.query('w1', ['ok1', 'ok2', 'no1']), c.query('w2', ['ok2', 'ok3'])]);
    expect(batches).toHaveLength(1);
    expect(batches[0]!.checks).toEqual([
      { user_id: 'w1', user_ids: ['ok1', 'ok2', 'no1'] },
      { user_id: 'w2', user_ids: ['ok2', 'ok3'] },
    ]);
    expect(a.map((s) => s.user_id)).toEqual(['ok1', 'ok2']);
    expect(b.map((s) => s.user_id)).toEqual(['ok2', 'ok3']);
  });

  it('keeps at most maxInFlight requests out and sends what queued meanwhile in one request', async () => {
    const sizes: number[] = [];
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    const c = new QueryCoalescer(
      async (request) => {
        sizes.push(request.checks.length);
        if (sizes.length === 1) await gate;
        return answer(request);
      },
      { maxInFlight: 1 },
    );
    const first = c.query('w0', ['ok']);
    await new Promise((r) => setImmediate(r));
    const later = [1, 2, 3].map((i) => c.query(`w${i}`, ['ok']));
    await new Promise((r) => setImmediate(r));
    expect(sizes).toEqual([1]);
    release();
    await Promise.all([first, ...later]);
    expect(sizes).toEqual([1, 3]);
  });

  it('splits queries beyond MAX_QUERY_BATCH_USERS ids into several requests', async () => {
    const sizes: number[] = [];
    const c = new QueryCoalescer(async (request) => {
      sizes.push(request.checks.reduce((n, ch) => n + ch.user_ids.length, 0));
      return answer(request);
    });
    const ids = Array.from({ length: 400 }, (_, i) => `ok${i}`);
    const count = Math.ceil(MAX_QUERY_BATCH_USERS / 400) + 1;
    await Promise.all(Array.from({ length: count }, (_, i) => c.query(`w${i}`, ids)));
    expect(sizes.every((n) => n <= MAX_QUERY_BATCH_USERS)).toBe(true);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(count * 400);
    expect(sizes.length).toBeGreaterThan(1);
  });

  it('fails every query of a request that failed', async () => {
    const c = new QueryCoalescer(async () => {
      throw new ChatError(Errors.UNAVAILABLE);
    });
    const results = await Promise.allSettled([c.query('w1', ['ok']), c.query('w2', ['ok'])]);
    expect(results.map((r) => r.status === 'rejected' && (r.reason as ChatError).def)).toEqual([Errors.UNAVAILABLE, Errors.UNAVAILABLE]);
  });

  it('refuses a query that waited in the queue longer than queueTimeoutMs, without sending it', async () => {
    const sent: string[] = [];
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    const c = new QueryCoalescer(
      async (request) => {
        sent.push(...request.checks.map((ch) => ch.user_id));
        await gate;
        return answer(request);
      },
      { maxInFlight: 1, queueTimeoutMs: 20 },
    );
    const first = c.query('w0', ['ok']);
    await new Promise((r) => setImmediate(r));
    const stale = c.query('late', ['ok']).catch((err: unknown) => err);
    await new Promise((r) => setTimeout(r, 40));
    expect(await stale).toMatchObject({ def: Errors.UNAVAILABLE }); // refused when it expired, not when the slot came free
    release();
    await first;
    expect(sent).toEqual(['w0']);
  });
});

describe('statesByCheck', () => {
  it('refuses a reply whose indexes point outside its users or whose lists do not match the checks', () => {
    const users = [{ user_id: 'a', online: true }];
    expect(statesByCheck({ users, allowed: [[0]] }, 1)).toEqual([[users[0]]]);
    for (const bad of [
      { users, allowed: [[1]] },
      { users, allowed: [[-1]] },
      { users, allowed: [[0.5]] },
      { users, allowed: [] },
      { users },
      { allowed: [[0]] },
    ]) {
      expect(() => statesByCheck(bad as Partial<PresenceQueryResponse>, 1)).toThrow(ChatError);
    }
  });

  it('copies each state once with only what a client may see, shared by the checks that see it', () => {
    const users = [
      { user_id: 'a', online: true, last_seen: 5, extra: 'x' },
      { user_id: 'b', online: false, last_seen: 7 },
      { user_id: 'c', online: false },
    ];
    const [first, second] = statesByCheck({ users, allowed: [[0, 1, 2], [1]] } as Partial<PresenceQueryResponse>, 2);
    expect(first).toEqual([
      { user_id: 'a', online: true },
      { user_id: 'b', online: false, last_seen: 7 },
      { user_id: 'c', online: false },
    ]);
    expect(second![0]).toBe(first![1]);
    expect(first![0]).not.toHaveProperty('extra');
  });

  it('refuses a reply with a state that is not one', () => {
    for (const bad of [null, 'a', { online: true }, { user_id: 'a' }, { user_id: 'a', online: 'yes' }]) {
      expect(() => statesByCheck({ users: [bad], allowed: [[0]] } as unknown as Partial<PresenceQueryResponse>, 1)).toThrow(ChatError);
    }
  });
});
