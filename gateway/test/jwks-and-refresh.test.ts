import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ChatClient } from '@chat/sdk';
import { spawnGateway, tryConnect, type GatewayProcess } from '@chat/testing/gateway-process';
import { waitFor } from '@chat/testing/wait';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { forgeToken } from './support/jwt-forge.js';

// Production auth against a real gateway process: keys come from a JWKS URL served here on
// 127.0.0.1 and rotated while the gateway runs; tokens are refreshed in band on an open socket.
const run = randomBytes(4).toString('hex');
const ISSUER = `https://id-${run}.example/`;
const AUDIENCE = 'chat-jwks';
const keyA = generateKeyPairSync('rsa', { modulusLength: 2048 });
const keyB = generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = (key: KeyObject, kid: string) => ({ ...key.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' });

let served: object[] = [jwk(keyA.publicKey, 'a')];
let fetches = 0;
let jwksServer: Server;
let gateway: GatewayProcess;

const now = (): number => Math.floor(Date.now() / 1000);
const tokenUntil = (key: KeyObject, kid: string, sub: string, exp: number): string =>
  forgeToken({ alg: 'RS256', key }, { sub, iss: ISSUER, aud: AUDIENCE, iat: now(), exp }, { kid });
const token = (key: KeyObject, kid: string, sub: string, ttlSeconds = 600): string => tokenUntil(key, kid, sub, now() + ttlSeconds);

/** A raw socket that records frames (listening from the start: hello may come with the upgrade) and its close code. */
async function open(t: string): Promise<{ ws: WebSocket; frames: Record<string, unknown>[]; closed: () => number | null; closedAt: () => number | null }> {
  const ws = new WebSocket(gateway.url, { headers: { authorization: `Bearer ${t}` } });
  const frames: Record<string, unknown>[] = [];
  let code: number | null = null;
  let closedAt: number | null = null;
  let refused: number | undefined;
  ws.on('message', (d) => frames.push(JSON.parse(d.toString()) as Record<string, unknown>));
  ws.on('close', (c) => {
    code = c;
    closedAt = Date.now();
  });
  ws.on('unexpected-response', (_req, res) => {
    refused = res.statusCode;
    res.resume();
    ws.terminate();
  });
  ws.on('error', () => undefined);
  await waitFor(() => refused !== undefined || frames.some((f) => f.type === 'hello'), 10_000, 'hello');
  if (refused !== undefined) throw new Error(`upgrade refused with ${refused}`);
  return { ws, frames, closed: () => code, closedAt: () => closedAt };
}
const reply = async (c: Awaited<ReturnType<typeof open>>, ref: string) => {
  await waitFor(() => c.frames.some((f) => f.ref === ref), 10_000, `reply to ${ref}`);
  return c.frames.find((f) => f.ref === ref)!;
};

beforeAll(async () => {
  jwksServer = createServer((req, res) => {
    fetches++;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: served }));
  });
  await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
  const jwksUrl = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/.well-known/jwks.json`;
  gateway = await spawnGateway(
    {
      ...process.env,
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
      REDIS_KEY_PREFIX: `tjw${run}:`,
      CHAT_SERVICE_URL: 'http://127.0.0.1:9', // nothing listens: these tests use auth and ping only
      PRESENCE_SERVICE_URL: '',
      NODE_ENV: 'production',
      INTERNAL_API_TOKEN: randomBytes(32).toString('hex'),
      JWT_HS256_SECRET: '', // production: JWKS keys only
      JWT_ISSUER: ISSUER,
      JWT_AUDIENCE: AUDIENCE,
      JWT_JWKS_URL: jwksUrl,
      JWT_JWKS_UNKNOWN_KID_COOLDOWN_MS: '500',
    },
    `jwks-${run}`,
  );
}, 60_000);

afterAll(async () => {
  await gateway?.stop();
  jwksServer?.close();
});

describe('JWKS keys (real gateway process, local JWKS server)', () => {
  it('accepts tokens of the served key, pins its algorithm, and follows a rotation without a restart', async () => {
    const first = await open(token(keyA.privateKey, 'a', 'alice'));
    first.ws.close();
    // Pinned: the kid's key verifies RS256 only; a header claiming another algorithm is refused.
    expect(
      await tryConnect(
        gateway.url,
        forgeToken({ alg: 'RS256', key: keyA.privateKey }, { sub: 'alice', iss: ISSUER, aud: AUDIENCE, exp: now() + 600 }, { kid: 'a', alg: 'RS512' }),
      ),
    ).toEqual({ status: 401 });
    // A token signed by another key under the served kid is refused too.
    expect(await tryConnect(gateway.url, token(keyB.privateKey, 'a', 'alice'))).toEqual({ status: 401 });

    // The provider rotates: B is published, A withdrawn. A token signed with B names an unknown
    // kid, which refetches the document (rate limited) and is then accepted.
    served = [jwk(keyB.publicKey, 'b')];
    const before = fetches;
    let accepted = false;
    await waitFor(
      async () => {
        const r = await tryConnect(gateway.url, token(keyB.privateKey, 'b', 'bob'));
        if ('ws' in r) r.ws.close();
        return (accepted = 'ws' in r);
      },
      15_000,
      'a token of the new key to be accepted',
    );
    expect(accepted).toBe(true);
    expect(fetches).toBeGreaterThan(before);
    // The withdrawn key verifies nothing any more.
    expect(await tryConnect(gateway.url, token(keyA.privateKey, 'a', 'alice'))).toEqual({ status: 401 });
    // Unknown kids do not make the gateway hammer the provider: one fetch per cooldown at most.
    const burst = fetches;
    await Promise.all(Array.from({ length: 20 }, (_, i) => tryConnect(gateway.url, token(keyB.privateKey, `forged-${i}`, 'mallory'))));
    expect(fetches - burst).toBeLessThanOrEqual(2);
  });
});

describe('in-band token refresh', () => {
  it("an auth frame with a fresh token for the same user keeps the connection past the old exp; another user's token is refused and changes nothing", async () => {
    const c = await open(token(keyB.privateKey, 'b', 'carol', 3));
    c.ws.send(JSON.stringify({ type: 'auth', ref: 'other', token: token(keyB.privateKey, 'b', 'mallory', 600) }));
    expect(await reply(c, 'other')).toMatchObject({ type: 'error', code: 4008, name: 'unauthorized' });
    c.ws.send(JSON.stringify({ type: 'auth', ref: 'bad', token: 'not-a-token' }));
    expect(await reply(c, 'bad')).toMatchObject({ type: 'error', code: 4008 });
    const fresh = token(keyB.privateKey, 'b', 'carol', 600);
    c.ws.send(JSON.stringify({ type: 'auth', ref: 'renew', token: fresh }));
    const ok = await reply(c, 'renew');
    expect(ok).toMatchObject({ type: 'auth.ok' });
    expect(ok.expires_at).toBeGreaterThan(Date.now() + 500_000);
    // Past the first token's exp (3 s) the connection still answers.
    await new Promise((resolve) => setTimeout(resolve, 4_500));
    c.ws.send(JSON.stringify({ type: 'ping', ref: 'alive' }));
    expect(await reply(c, 'alive')).toMatchObject({ type: 'pong' });
    expect(c.closed()).toBeNull();
    c.ws.close();
  }, 30_000);

  it('without a refresh each connection is closed at its own exp with 4500 token_expired, the later-opened earlier-expiring one first', async () => {
    const expDave = now() + 3;
    const dave = await open(tokenUntil(keyB.privateKey, 'b', 'dave', expDave));
    const expErin = now() + 2;
    const erin = await open(tokenUntil(keyB.privateKey, 'b', 'erin', expErin));
    await waitFor(() => dave.closed() !== null && erin.closed() !== null, 15_000, 'the expiry closes');
    expect([dave.closed(), erin.closed()]).toEqual([4500, 4500]);
    // At exp (ms resolution on the server), not before; the slack is for a loaded machine.
    for (const [c, exp] of [
      [dave, expDave],
      [erin, expErin],
    ] as const) {
      expect(c.closedAt()).toBeGreaterThanOrEqual(exp * 1000);
      expect(c.closedAt()).toBeLessThan(exp * 1000 + 1000);
    }
  }, 30_000);

  it('the SDK refreshes before exp on the open connection: same connection, no close, fresh tokens fetched', async () => {
    let issued = 0;
    const client = new ChatClient({
      url: gateway.url,
      getToken: () => {
        issued++;
        return token(keyB.privateKey, 'b', 'erin', 4);
      },
      WebSocketImpl: WebSocket as unknown as NonNullable<ConstructorParameters<typeof ChatClient>[0]['WebSocketImpl']>,
      tokenRefreshAheadMs: 2_000,
    });
    const closes: number[] = [];
    client.on('close', (info) => closes.push(info.code));
    const hello = await client.connect();
    // Each token lives 4 s; 10 s spans at least two refreshes.
    await new Promise((resolve) => setTimeout(resolve, 10_000));
    expect(closes).toEqual([]);
    expect(client.hello?.connection_id).toBe(hello.connection_id);
    expect(issued).toBeGreaterThanOrEqual(3);
    await client.ping();
    client.close();
  }, 40_000);
});
