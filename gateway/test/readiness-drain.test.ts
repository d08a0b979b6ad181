import { randomBytes } from 'node:crypto';
import { mintDevToken } from '@chat/server/auth';
import { loadConfig } from '@chat/server/config';
import { spawnGateway, tryConnect, type GatewayProcess } from '@chat/testing/gateway-process';
import { waitFor } from '@chat/testing/wait';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// A load balancer must stop sending to a gateway as soon as it drains: /readyz answers 503
// "draining" from SIGTERM until the process is gone, while /livez stays 200 (no restart).
let gateway: GatewayProcess;
const env: NodeJS.ProcessEnv = {
  ...process.env,
  LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
  REDIS_KEY_PREFIX: `trd${randomBytes(4).toString('hex')}:`,
  CHAT_SERVICE_URL: 'http://127.0.0.1:9',
  PRESENCE_SERVICE_URL: '',
  DRAIN_TIMEOUT_MS: '8000',
};

beforeAll(async () => {
  gateway = await spawnGateway(env, `readiness-drain-${randomBytes(2).toString('hex')}`);
}, 60_000);
afterAll(async () => {
  await gateway?.stop('SIGKILL');
});

const probe = async (path: string) => {
  const res = await fetch(`http://127.0.0.1:${gateway.internalPort}${path}`);
  return { status: res.status, body: (await res.json()) as { status: string; checks?: Record<string, string> } };
};

describe('gateway readiness while draining (real process)', () => {
  it('is ready with Redis reachable, turns 503 draining on SIGTERM while a client is still connected, and stays live', async () => {
    expect(await probe('/readyz')).toEqual({ status: 200, body: { status: 'ready', checks: { redis: 'ok' } } });
    const config = loadConfig(env);
    const conn = await tryConnect(gateway.url, mintDevToken(config.JWT_HS256_SECRET, 'drainee', { issuer: config.JWT_ISSUER, audience: config.JWT_AUDIENCE }));
    expect('ws' in conn).toBe(true);
    // The client ignores the reconnect hint, so the drain lasts DRAIN_TIMEOUT_MS.
    gateway.child.kill('SIGTERM');
    let last = await probe('/readyz');
    await waitFor(async () => (last = await probe('/readyz')).status === 503, 5_000, '/readyz to turn 503');
    expect(last.body.status).toBe('draining');
    expect((await probe('/livez')).status).toBe(200);
    if ('ws' in conn) conn.ws.terminate();
  }, 60_000);
});
