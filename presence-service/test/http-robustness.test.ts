import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '@chat/server/config';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PRESENCE_PATHS } from '@chat/protocol/internal';
import { fuzzListener, problemWithReply, rawRequest, spawnService, type ServiceProcess } from '@chat/testing/http-fuzz';
import { freePort } from '@chat/testing/wait';

const PRESENCE_MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));

describe('presence-service HTTP listener under hostile input (real process)', () => {
  let service: ServiceProcess;
  let port: number;
  // A fresh connection each time: a pooled keep-alive socket the server closed would read as ECONNRESET.
  const healthy = async () => (await rawRequest(port, { method: 'GET', target: '/healthz', headers: [], body: '' })).status === 200;

  beforeAll(async () => {
    port = await freePort();
    service = await spawnService(
      PRESENCE_MAIN,
      { ...process.env, LOG_LEVEL: 'warn', PRESENCE_HTTP_PORT: String(port), REDIS_KEY_PREFIX: `tph${randomBytes(4).toString('hex')}:` },
      healthy,
      'presence-service',
    );
  });
  afterAll(async () => {
    await service?.stop();
  });

  it('item 1: odd request targets get JSON errors and the process stays up', async () => {
    for (const [method, target, status] of [
      ['GET', '//', 404],
      ['POST', '/internal/v1/%', 404],
      ['POST', 'constructor', 400],
      ['POST', '*', 400],
    ] as const) {
      const reply = await rawRequest(port, { method, target, headers: [], body: '' });
      expect(problemWithReply(reply), `${method} ${target}`).toBeUndefined();
      expect(reply.status, `${method} ${target}`).toBe(status);
    }
    expect(service.running()).toBe(true);
  });

  it('item 12: a missing or wrong internal token is refused with 401', async () => {
    const config = loadConfig(process.env);
    const body = JSON.stringify({ checks: [{ user_id: 'u', user_ids: [] }] });
    const post = (token?: string) =>
      rawRequest(port, {
        method: 'POST',
        target: PRESENCE_PATHS.query,
        headers: [['content-type', 'application/json'], ...(token === undefined ? [] : [['x-internal-token', token] as [string, string]])],
        body,
      });
    expect((await post(config.INTERNAL_API_TOKEN)).status).toBe(200);
    for (const wrong of [undefined, '', 'x', `${config.INTERNAL_API_TOKEN}x`, config.INTERNAL_API_TOKEN.slice(0, -1)]) {
      const reply = await post(wrong);
      expect(reply.status, `token ${JSON.stringify(wrong)}`).toBe(401);
      expect(JSON.parse(reply.body)).toMatchObject({ error: { name: 'unauthorized' } });
    }
  });

  it('item 1: fuzzed request targets, headers and bodies always get a well-formed reply', async () => {
    const config = loadConfig(process.env);
    await fuzzListener(port, ['/healthz', ...Object.values(PRESENCE_PATHS)], async () => service.running() && (await healthy()), {
      numRuns: 300,
      secrets: { internalToken: config.INTERNAL_API_TOKEN },
    });
    expect(service.running()).toBe(true);
  });
});
