import { mintDevToken } from '@chat/server/auth';
import { loadConfig, type Config } from '@chat/server/config';
import { Redis } from 'ioredis';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type WebSocket from 'ws';
import { spawnGateway, tryConnect, waitFor, type GatewayProcess } from '@chat/testing/gateway-process';
import { RedisKeys } from '@chat/server/redis';

// Connection entries of a crashed gateway must stop counting against the per-user limit.
const run = randomBytes(4).toString('hex');
const TTL_SECONDS = 5;
const MAX = 4;
const env: NodeJS.ProcessEnv = {
  ...process.env,
  LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
  REDIS_KEY_PREFIX: `tsp${run}:`,
  SESSION_REFRESH_SECONDS: '1',
  SESSION_TTL_SECONDS: String(TTL_SECONDS),
  MAX_CONNECTIONS_PER_USER: String(MAX),
  PRESENCE_SERVICE_URL: '',
  CHAT_SERVICE_URL: 'http://127.0.0.1:9',
};
let config: Config;
let redis: Redis;
const gateways: GatewayProcess[] = [];
const sockets: WebSocket[] = [];

async function connectOk(url: string, userId: string): Promise<boolean> {
  const token = mintDevToken(config.JWT_HS256_SECRET, userId, { issuer: config.JWT_ISSUER, audience: config.JWT_AUDIENCE, ttlSeconds: 600 });
  const r = await tryConnect(url, token);
  if ('ws' in r) {
    r.ws.on('error', () => undefined);
    sockets.push(r.ws);
    return true;
  }
  expect(r.status).toBe(429);
  return false;
}

beforeAll(async () => {
  config = loadConfig(env);
  redis = new Redis(config.REDIS_URL);
});

afterAll(async () => {
  for (const ws of sockets) ws.terminate();
  await Promise.all(gateways.map((g) => g.stop('SIGKILL')));
  const keys = await redis?.keys(`tsp${run}:*`);
  if (keys && keys.length > 0) await redis.del(...keys);
  redis?.disconnect();
});

describe('session registry pruning', () => {
  it("item 10: after a gateway holding a user's connections is SIGKILLed, the user can connect up to the limit again within SESSION_TTL_SECONDS, although another connection keeps the key alive", async () => {
    const [survivor, doomed] = await Promise.all([spawnGateway(env, `tsp${run}-a`), spawnGateway(env, `tsp${run}-b`)]);
    gateways.push(survivor, doomed);
    const user = `locked-${run}`;
    expect(await connectOk(survivor.url, user)).toBe(true);
    for (let i = 1; i < MAX; i++) expect(await connectOk(doomed.url, user)).toBe(true);
    expect(await connectOk(survivor.url, user)).toBe(false); // at the limit

    await doomed.stop('SIGKILL');
    const killedAt = Date.now();
    // The survivor keeps refreshing the user's key every second; the dead gateway's entries must
    // stop counting once their deadline (TTL) passes.
    let admitted = 0;
    await waitFor(
      async () => {
        while (admitted < MAX - 1 && (await connectOk(survivor.url, user))) admitted++;
        return admitted === MAX - 1;
      },
      (TTL_SECONDS + 3) * 1000,
      'the user to be admitted again',
    );
    expect(Date.now() - killedAt).toBeLessThanOrEqual((TTL_SECONDS + 2) * 1000);
    expect(await connectOk(survivor.url, user)).toBe(false); // and the limit still holds
    expect(await redis.exists(new RedisKeys(`tsp${run}:`).userConnections(user))).toBe(1);
  });
});
