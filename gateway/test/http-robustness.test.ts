import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { mintDevToken } from '@chat/server/auth';
import { loadConfig } from '@chat/server/config';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fuzzListener, problemWithReply, rawRequest, spawnService, uwsMayDrop, type ServiceProcess } from '@chat/testing/http-fuzz';
import { freePort } from '@chat/testing/wait';

const GATEWAY_MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));

describe('gateway HTTP listener under hostile input (real process)', () => {
  let service: ServiceProcess;
  let port: number;
  let internalPort: number;
  // A fresh connection each time: a pooled keep-alive socket the server closed would read as ECONNRESET.
  const healthy = async () => (await rawRequest(internalPort, { method: 'GET', target: '/healthz', headers: [], body: '' })).status === 200;

  beforeAll(async () => {
    [port, internalPort] = [await freePort(), await freePort()];
    const run = randomBytes(4).toString('hex');
    service = await spawnService(
      GATEWAY_MAIN,
      {
        ...process.env,
        LOG_LEVEL: 'warn',
        GATEWAY_PORT: String(port),
        GATEWAY_INTERNAL_PORT: String(internalPort),
        GATEWAY_ID: `tgh${run}`,
        REDIS_KEY_PREFIX: `tgh${run}:`,
        CHAT_SERVICE_URL: 'http://127.0.0.1:9', // nothing listens: sends fail with 4101, never crash
        PRESENCE_SERVICE_URL: '',
      },
      healthy,
      'gateway',
    );
  });
  afterAll(async () => {
    await service?.stop();
  });

  it('item 1: odd request targets and upgrades get JSON errors and the process stays up', async () => {
    const upgrade: [string, string][] = [
      ['upgrade', 'websocket'],
      ['sec-websocket-key', 'dGhlIHNhbXBsZSBub25jZQ=='],
      ['sec-websocket-version', '13'],
    ];
    const cases: [string, string, [string, string][], number][] = [
      ['GET', '//', [], 404],
      ['GET', '/ws/%', [], 404],
      ['GET', '/ws', upgrade, 401],
      ['GET', '/ws?access_token=%zz', upgrade, 401],
      ['GET', '/ws?access_token=%', [...upgrade, ['sec-websocket-protocol', 'bearer, %']], 401],
      ['POST', '/metrics%', [], 404],
    ];
    for (const [method, target, headers, status] of cases) {
      const reply = await rawRequest(port, { method, target, headers, body: '' });
      expect(problemWithReply(reply), `${method} ${target}`).toBeUndefined();
      expect(reply.status, `${method} ${target}`).toBe(status);
    }
    expect(service.running()).toBe(true);
  });

  it('item 1: fuzzed request targets, headers and bodies always get a well-formed reply', async () => {
    const config = loadConfig(process.env);
    const bearer = mintDevToken(config.JWT_HS256_SECRET, 'fuzzer', { issuer: config.JWT_ISSUER, audience: config.JWT_AUDIENCE, ttlSeconds: 600 });
    const paths = ['/healthz', '/metrics', '/ws', `/ws?access_token=${bearer}`];
    const alive = async () => service.running() && (await healthy());
    await fuzzListener(port, paths, alive, { numRuns: 250, secrets: { bearer }, parserMayDrop: uwsMayDrop });
    await fuzzListener(internalPort, paths, alive, { numRuns: 100, secrets: { bearer }, parserMayDrop: uwsMayDrop });
    expect(service.running()).toBe(true);
  });

  it('item 12: /metrics, /healthz and /debug/heap are served on the internal port only', async () => {
    const heap = await rawRequest(internalPort, { method: 'GET', target: '/debug/heap', headers: [], body: '' });
    expect(heap.status).toBe(200);
    const live = JSON.parse(heap.body) as { usedBytes: number; totalBytes: number; connections: number };
    expect(live.usedBytes).toBeGreaterThan(1_000_000);
    expect(live.totalBytes).toBeGreaterThanOrEqual(live.usedBytes);
    // The live count, not zero: sessions the fuzzer's authenticated upgrades opened may still be
    // closing. Nothing opens one now, so /healthz, asked afterwards, counts no more.
    const healthz = JSON.parse((await rawRequest(internalPort, { method: 'GET', target: '/healthz', headers: [], body: '' })).body) as { connections: number };
    expect(Number.isInteger(live.connections)).toBe(true);
    expect(live.connections).toBeGreaterThanOrEqual(healthz.connections);
    for (const path of ['/metrics', '/healthz', '/debug/heap']) {
      const reply = await rawRequest(port, { method: 'GET', target: path, headers: [], body: '' });
      expect(reply.status, `public ${path}`).toBe(404);
      expect(problemWithReply(reply)).toBeUndefined();
    }
    const metrics = await rawRequest(internalPort, { method: 'GET', target: '/metrics', headers: [], body: '' });
    expect(metrics.status).toBe(200);
    expect(metrics.body).toContain('chat_gateway_connections');
    expect(
      (
        await rawRequest(internalPort, {
          method: 'GET',
          target: '/ws',
          headers: [
            ['upgrade', 'websocket'],
            ['sec-websocket-key', 'dGhlIHNhbXBsZSBub25jZQ=='],
            ['sec-websocket-version', '13'],
          ],
          body: '',
        })
      ).status,
    ).toBe(404);
  });
});
