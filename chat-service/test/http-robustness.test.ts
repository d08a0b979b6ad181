import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { INTERNAL_PATHS, loadConfig, mintDevToken } from '@chat/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fuzzListener, problemWithReply, rawRequest, spawnService, type ServiceProcess } from '../../shared/test/support/http-fuzz.js';
import { freePort } from '../../shared/test/support/wait.js';

const CHAT_MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));

const KNOWN_PATHS = [
  '/healthz',
  '/metrics',
  '/v1/conversations',
  '/v1/conversations/1',
  '/v1/conversations/1/members',
  '/v1/conversations/1/members/bob',
  '/v1/conversations/1/messages',
  ...Object.values(INTERNAL_PATHS),
];

describe('chat-service HTTP listener under hostile input (real process)', () => {
  let service: ServiceProcess;
  let port: number;
  // A fresh connection each time: a pooled keep-alive socket the server closed would read as ECONNRESET.
  const healthy = async () => (await rawRequest(port, { method: 'GET', target: '/healthz', headers: [], body: '' })).status === 200;

  beforeAll(async () => {
    port = await freePort();
    const run = randomBytes(4).toString('hex');
    service = await spawnService(
      CHAT_MAIN,
      {
        ...process.env,
        LOG_LEVEL: 'warn',
        CHAT_SERVICE_ROLES: 'api',
        CHAT_HTTP_PORT: String(port),
        REDIS_KEY_PREFIX: `th${run}:`,
        KAFKA_TOPIC_MESSAGES: `chat.messages.test-${run}`,
      },
      healthy,
      'chat-service',
    );
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

  it('item 1: fuzzed request targets, headers and bodies always get a well-formed reply', async () => {
    const config = loadConfig(process.env);
    const bearer = mintDevToken(config.JWT_HS256_SECRET, 'fuzzer', { issuer: config.JWT_ISSUER, audience: config.JWT_AUDIENCE, ttlSeconds: 600 });
    await fuzzListener(port, KNOWN_PATHS, async () => service.running() && (await healthy()), {
      numRuns: 300,
      secrets: { internalToken: config.INTERNAL_API_TOKEN, bearer },
    });
    expect(service.running()).toBe(true);
  });
});
