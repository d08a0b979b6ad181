import { Errors, type ServerFrame } from '@chat/protocol';
import { INTERNAL_TOKEN_HEADER, MAX_QUERY_BATCH_USERS } from '@chat/protocol/internal';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PresenceHarness, type GatewayProcess } from './support/harness.js';

const IDS_PER_USER = 100;

const h = new PresenceHarness();
let gw1: GatewayProcess;
let gw2: GatewayProcess;

beforeAll(async () => {
  await h.start();
  h.env.RATE_PRESENCE_IDS_PER_USER = `${IDS_PER_USER}/60s`;
  [gw1, gw2] = await Promise.all([h.gateway('gw1'), h.gateway('gw2')]);
});
afterAll(() => h.close());

type ErrorReply = Extract<ServerFrame, { type: 'error' }>;

describe('presence subscriptions are cost-bounded', () => {
  it('item 11: presence.sub over the per-user id budget is refused with 4100 and retry_after_ms on every gateway; over the per-frame count with 4002', async () => {
    const watcher = h.user('watcher');
    const friends = [h.user('f1'), h.user('f2'), h.user('f3')];
    await h.conversation([watcher, ...friends]);
    const others = (n: number, tag: string) => Array.from({ length: n }, (_, i) => h.user(`${tag}${i}`));
    const c1 = await h.connect(gw1, watcher);
    const c2 = await h.connect(gw2, watcher);

    // Per frame: at most 500 ids (refused before anything is asked of presence-service).
    const tooMany = await c1.request<ErrorReply>({ type: 'presence.sub', user_ids: others(501, 'x') });
    expect(tooMany).toMatchObject({ type: 'error', code: Errors.INVALID_SHAPE.code });

    // Per user, all gateways together: 60 ids on one gateway fit the budget of 100 ...
    const first = await c1.request({ type: 'presence.sub', user_ids: [...friends, ...others(57, 'a')] });
    expect(first.type).toBe('presence');
    // ... 60 more on the other gateway do not.
    const second = await c2.request<ErrorReply>({ type: 'presence.sub', user_ids: [...friends, ...others(57, 'b')] });
    expect(second).toMatchObject({ type: 'error', code: Errors.RATE_LIMITED.code, retry: true });
    expect(second.retry_after_ms).toBeGreaterThan(0);
    expect(second.retry_after_ms).toBeLessThanOrEqual(60_000);
    // The budget is spent for small frames too, until the window ends.
    const again = await c1.request<ErrorReply>({ type: 'presence.sub', user_ids: friends });
    expect(again).toMatchObject({ type: 'error', code: Errors.RATE_LIMITED.code });
  });

  it('item 11: presence-service refuses a query check naming more users than one presence.sub frame may, and a batch beyond its total', async () => {
    const post = (checks: { user_id: string; user_ids: string[] }[]) =>
      fetch(`${h.env.PRESENCE_SERVICE_URL}/internal/v1/presence/query`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', [INTERNAL_TOKEN_HEADER]: h.config.INTERNAL_API_TOKEN },
        body: JSON.stringify({ checks }),
      });
    const ids = (n: number) => Array.from({ length: n }, (_, i) => h.user(`q${i}`));
    for (const checks of [
      [{ user_id: h.user('q'), user_ids: ids(501) }],
      Array.from({ length: Math.floor(MAX_QUERY_BATCH_USERS / 500) + 1 }, () => ({ user_id: h.user('q'), user_ids: ids(500) })),
    ]) {
      const res = await post(checks);
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: { code: number } }).error.code).toBe(Errors.INVALID_SHAPE.code);
    }
    expect((await post([{ user_id: h.user('q'), user_ids: ids(500) }])).status).toBe(200);
  });
});
