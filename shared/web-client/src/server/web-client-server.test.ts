import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TokenVerifier } from '@chat/server/auth';
import { createLogger } from '@chat/server/logger';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWebClientServer, type RunningWebClientServer } from './web-client-server.js';

const devTokens = { secret: 'test-secret', issuer: 'chat-dev', audience: 'chat', ttlSeconds: 60 };
const dir = mkdtempSync(join(tmpdir(), 'web-client-'));
let withTokens: RunningWebClientServer;
let withoutTokens: RunningWebClientServer;

beforeAll(async () => {
  mkdirSync(join(dir, 'public'));
  mkdirSync(join(dir, 'app'));
  writeFileSync(join(dir, 'public', 'index.html'), '<!doctype html><title>t</title>');
  writeFileSync(join(dir, 'app', 'main.js'), 'export {};');
  writeFileSync(join(dir, 'secret.js'), 'outside every root');
  writeFileSync(join(dir, 'public', 'notes.txt'), 'not a client file type');
  const common = {
    host: '127.0.0.1',
    port: 0,
    gateways: ['ws://127.0.0.1:1/ws', 'ws://127.0.0.1:2/ws'],
    apiUrl: 'http://127.0.0.1:3',
    log: createLogger('test', 'silent'),
    roots: [
      { prefix: '/app/', dir: join(dir, 'app') },
      { prefix: '/', dir: join(dir, 'public') },
    ],
  };
  withTokens = await startWebClientServer({ ...common, devTokens });
  withoutTokens = await startWebClientServer(common);
});
afterAll(async () => {
  await withTokens?.close();
  await withoutTokens?.close();
  rmSync(dir, { recursive: true, force: true });
});

const get = async (server: RunningWebClientServer, path: string, init?: RequestInit) => {
  const res = await fetch(`${server.url}${path}`, init);
  return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
};

describe('the browser client server', () => {
  it('serves the page, its modules and where the gateways and the REST API are', async () => {
    expect(await get(withTokens, '/')).toMatchObject({ status: 200, type: 'text/html; charset=utf-8', text: '<!doctype html><title>t</title>' });
    expect(await get(withTokens, '/app/main.js')).toMatchObject({ status: 200, type: 'text/javascript; charset=utf-8' });
    expect(JSON.parse((await get(withTokens, '/config.json')).text)).toEqual({
      gateways: ['ws://127.0.0.1:1/ws', 'ws://127.0.0.1:2/ws'],
      api_url: 'http://127.0.0.1:3',
      dev_tokens: true,
    });
    expect(JSON.parse((await get(withoutTokens, '/config.json')).text).dev_tokens).toBe(false);
  });

  it('serves nothing outside its folders, no other file types, and no other methods (JSON 404s)', async () => {
    for (const path of [
      '/../secret.js',
      '/%2e%2e/secret.js',
      '/app/..%2f..%2fsecret.js',
      '/app/%2e%2e/%2e%2e/secret.js',
      '/notes.txt',
      '/nope.js',
      '/%E0%A4%A.js',
      '/app/main.js%00.js',
    ]) {
      const res = await get(withTokens, path);
      expect(res.status, path).toBe(404);
      expect(JSON.parse(res.text).error.name, path).toBe('not_found');
    }
    expect((await get(withTokens, '/app/main.js', { method: 'DELETE' })).status).toBe(404);
  });

  it('POST /dev/token mints a token the gateways accept for that user; bad input is 4002; without dev tokens it does not exist', async () => {
    const ok = await get(withTokens, '/dev/token', { method: 'POST', body: JSON.stringify({ user_id: 'alice' }) });
    expect(ok.status).toBe(200);
    const reply = JSON.parse(ok.text) as { token: string; user_id: string; expires_at: number };
    const verifier = new TokenVerifier({ issuer: devTokens.issuer, audience: devTokens.audience, hs256Secret: devTokens.secret, publicKeys: [] });
    expect(verifier.verify(reply.token).userId).toBe('alice');
    expect(reply.user_id).toBe('alice');
    for (const body of ['', 'nope', '{"user_id":"a b"}', '{"user_id":7}', 'null', JSON.stringify({ user_id: 'x'.repeat(129) })]) {
      const res = await get(withTokens, '/dev/token', { method: 'POST', body });
      expect(res.status, body).toBe(400);
      expect(JSON.parse(res.text).error.code, body).toBe(4002);
    }
    expect((await get(withTokens, '/dev/token', { method: 'POST', body: 'x'.repeat(2000) })).status).toBe(413);
    expect((await get(withTokens, '/dev/token')).status).toBe(404);
    expect((await get(withoutTokens, '/dev/token', { method: 'POST', body: '{"user_id":"alice"}' })).status).toBe(404);
  });
});
