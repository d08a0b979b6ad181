import { mintDevToken } from '@chat/server/auth';
import { loadConfig } from '@chat/server/config';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnApiService, type ApiServiceProcess } from './support/system.js';

const ALLOWED = 'https://app.example';
const OTHER = 'https://evil.example';

describe('CORS on the public REST API (real chat-service process, real browser-shaped requests)', () => {
  let service: ApiServiceProcess;
  let base: string;
  let bearer: string;

  beforeAll(async () => {
    service = await spawnApiService('cors', { ALLOWED_ORIGINS: `${ALLOWED},https://second.example`, CORS_MAX_AGE_SECONDS: '123' });
    base = `http://127.0.0.1:${service.port}`;
    const config = loadConfig(process.env);
    bearer = mintDevToken(config.JWT_HS256_SECRET, `cors-${service.run}`, { issuer: config.JWT_ISSUER, audience: config.JWT_AUDIENCE, ttlSeconds: 600 });
  });
  afterAll(async () => {
    await service?.stop();
  });

  it("answers a preflight from an allowed origin with the path's methods, the allowed headers and the max age", async () => {
    const res = await fetch(`${base}/v1/conversations`, {
      method: 'OPTIONS',
      headers: { origin: ALLOWED, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe(ALLOWED);
    expect(res.headers.get('vary')).toBe('Origin');
    expect(res.headers.get('access-control-allow-methods')?.split(', ').sort()).toEqual(['GET', 'POST']);
    expect(res.headers.get('access-control-allow-headers')).toBe('authorization, content-type');
    expect(res.headers.get('access-control-max-age')).toBe('123');
    expect(res.headers.get('access-control-allow-credentials')).toBeNull();
  });

  it('serves an authenticated request from an allowed origin with the CORS headers a browser needs to read it', async () => {
    const res = await fetch(`${base}/v1/conversation-list`, { headers: { origin: 'https://SECOND.example/', authorization: `Bearer ${bearer}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe('https://SECOND.example/');
    expect(res.headers.get('access-control-expose-headers')).toBe('retry-after');
    expect(await res.json()).toHaveProperty('conversations');
    // An error reply carries them too, so a page can read the error body.
    const missing = await fetch(`${base}/v1/conversation-list`, { headers: { origin: ALLOWED } });
    expect(missing.status).toBe(401);
    expect(missing.headers.get('access-control-allow-origin')).toBe(ALLOWED);
  });

  it('refuses requests and preflights from other origins with 403 origin_not_allowed, before any handler runs', async () => {
    for (const origin of [OTHER, 'null', `${ALLOWED}.evil.example`, 'http://app.example']) {
      const pre = await fetch(`${base}/v1/conversations`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST' } });
      expect(pre.status, origin).toBe(403);
      expect(pre.headers.get('access-control-allow-origin')).toBeNull();
      expect(await pre.json()).toMatchObject({ error: { code: 4011, name: 'origin_not_allowed' } });
      // A simple POST (no preflight in a browser) must not reach the handler: nothing is created.
      const post = await fetch(`${base}/v1/conversations`, {
        method: 'POST',
        headers: { origin, authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
        body: JSON.stringify({ kind: 'group', title: 'cors', member_ids: ['x1', 'x2'] }),
      });
      expect(post.status, origin).toBe(403);
      expect(post.headers.get('access-control-allow-origin')).toBeNull();
    }
    const list = (await (await fetch(`${base}/v1/conversation-list`, { headers: { authorization: `Bearer ${bearer}` } })).json()) as {
      conversations: unknown[];
    };
    expect(list.conversations).toEqual([]);
  });

  it('leaves requests without Origin (native clients) alone, and an OPTIONS that is no preflight is not served', async () => {
    const res = await fetch(`${base}/v1/conversation-list`, { headers: { authorization: `Bearer ${bearer}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    const options = await fetch(`${base}/v1/conversations`, { method: 'OPTIONS', headers: { origin: ALLOWED } });
    expect(options.status).toBe(400);
    const unknown = await fetch(`${base}/v1/nothing-here`, { method: 'OPTIONS', headers: { origin: ALLOWED, 'access-control-request-method': 'GET' } });
    expect(unknown.status).toBe(404);
    expect(service.running()).toBe(true);
  });
});
