import { INTERNAL_PATHS } from '@chat/protocol/internal';
import { mintDevToken } from '@chat/server/auth';
import { loadConfig } from '@chat/server/config';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fuzzListener, problemWithReply, rawRequest } from '@chat/testing/http-fuzz';
import { spawnApiService, type ApiServiceProcess } from './support/system.js';

const PUBLIC_PATHS = [
  '/v1/conversations',
  '/v1/conversations/1',
  '/v1/conversations/1/members',
  '/v1/conversations/1/members/bob',
  '/v1/conversations/1/messages',
];
const INTERNAL_LISTENER_PATHS = ['/healthz', '/metrics', ...Object.values(INTERNAL_PATHS)];

describe('chat-service HTTP listener under hostile input (real process)', () => {
  let service: ApiServiceProcess;
  let port: number;
  let internalPort: number;
  // A fresh connection each time: a pooled keep-alive socket the server closed would read as ECONNRESET.
  const healthy = async () => (await rawRequest(internalPort, { method: 'GET', target: '/healthz', headers: [], body: '' })).status === 200;

  beforeAll(async () => {
    service = await spawnApiService('th');
    [port, internalPort] = [service.port, service.internalPort];
  });
  afterAll(async () => {
    await service?.stop();
  });

  it('item 1: GET // and malformed % escapes get JSON errors and the process stays up', async () => {
    const cases: [string, string, number][] = [
      ['GET', '//', 404],
      ['GET', '/v1/conversations/%', 404],
      ['GET', '/v1/conversations/%zz/messages', 404],
      ['DELETE', '/v1/conversations/1/members/%E0%A4%A', 404],
      ['GET', '*', 400],
      ['GET', 'http://127.0.0.1/healthz', 400],
    ];
    for (const [method, target, status] of cases) {
      const reply = await rawRequest(port, { method, target, headers: [], body: '' });
      expect(problemWithReply(reply), `${method} ${target}`).toBeUndefined();
      expect(reply.status, `${method} ${target}`).toBe(status);
      expect(service.running()).toBe(true);
    }
    expect(await healthy()).toBe(true);
  });

  it('item 1: fuzzed request targets, headers and bodies always get a well-formed reply (public and internal listener)', async () => {
    const config = loadConfig(process.env);
    const bearer = mintDevToken(config.JWT_HS256_SECRET, 'fuzzer', { issuer: config.JWT_ISSUER, audience: config.JWT_AUDIENCE, ttlSeconds: 600 });
    const secrets = { internalToken: config.INTERNAL_API_TOKEN, bearer };
    const alive = async () => service.running() && (await healthy());
    await fuzzListener(port, [...PUBLIC_PATHS, ...INTERNAL_LISTENER_PATHS], alive, { numRuns: 250, secrets });
    await fuzzListener(internalPort, [...INTERNAL_LISTENER_PATHS, ...PUBLIC_PATHS], alive, { numRuns: 250, secrets });
    expect(service.running()).toBe(true);
  });

  it('item 12: the public port serves no internal API, /metrics or /healthz; the internal listener refuses a wrong token', async () => {
    const config = loadConfig(process.env);
    const json = (token?: string): [string, string][] => [
      ['content-type', 'application/json'],
      ...(token === undefined ? [] : [['x-internal-token', token] as [string, string]]),
    ];
    const body = JSON.stringify({ requests: [{ user_id: 'u', positions: [] }] });
    for (const path of ['/healthz', '/metrics', ...Object.values(INTERNAL_PATHS)]) {
      for (const method of ['GET', 'POST']) {
        const reply = await rawRequest(port, { method, target: path, headers: json(config.INTERNAL_API_TOKEN), body });
        expect(reply.status, `public ${method} ${path}`).toBe(404);
        expect(problemWithReply(reply)).toBeUndefined();
      }
    }
    expect((await rawRequest(internalPort, { method: 'GET', target: '/metrics', headers: [], body: '' })).status).toBe(200);
    expect((await rawRequest(internalPort, { method: 'POST', target: INTERNAL_PATHS.syncBatch, headers: json(config.INTERNAL_API_TOKEN), body })).status).toBe(
      200,
    );
    for (const wrong of [undefined, '', 'x', `${config.INTERNAL_API_TOKEN}x`, config.INTERNAL_API_TOKEN.slice(0, -1)]) {
      const reply = await rawRequest(internalPort, { method: 'POST', target: INTERNAL_PATHS.syncBatch, headers: json(wrong), body });
      expect(reply.status, `token ${JSON.stringify(wrong)}`).toBe(401);
      expect(JSON.parse(reply.body)).toMatchObject({ error: { name: 'unauthorized' } });
    }
    // REST is not served on the internal listener either.
    expect((await rawRequest(internalPort, { method: 'GET', target: '/v1/conversations', headers: [], body: '' })).status).toBe(404);
  });
});
