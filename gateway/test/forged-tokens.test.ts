import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Errors } from '@chat/protocol';
import { loadConfig } from '@chat/server/config';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { forgeToken, payloadOf, withPayload, type Signer } from './support/jwt-forge.js';
import { spawnGateway, type GatewayProcess } from '@chat/testing/gateway-process';

// Every forged token must be refused by a real gateway process with 401 and the JSON error body
// before any WebSocket exists. Two gateways: one as in development (an RS256 key AND the HS256
// secret, the set-up where algorithm confusion would bite), one as in production (RS256 only).
const run = randomBytes(4).toString('hex');
const ISSUER = 'chat-forge-test';
const AUDIENCE = 'chat-forge';
const KID = 'rs-main';
const ORIGIN = 'https://chat.example';
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const stranger = generateKeyPairSync('rsa', { modulusLength: 2048 });
const publicPem = rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString();
const publicDer = rsa.publicKey.export({ type: 'spki', format: 'der' });

const keyDir = mkdtempSync(join(tmpdir(), 'forged-tokens-'));
const keysFile = join(keyDir, 'jwt-keys.json');
writeFileSync(keysFile, JSON.stringify({ keys: [{ kid: KID, alg: 'RS256', pem: publicPem }] }));

const baseEnv: NodeJS.ProcessEnv = {
  ...process.env,
  LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
  REDIS_KEY_PREFIX: `tft${run}:`,
  CHAT_SERVICE_URL: 'http://127.0.0.1:9', // nothing listens: these tests never get past the upgrade
  PRESENCE_SERVICE_URL: '',
  ALLOWED_ORIGINS: ORIGIN,
  JWT_ISSUER: ISSUER,
  JWT_AUDIENCE: AUDIENCE,
  JWT_PUBLIC_KEYS_FILE: keysFile,
};
const devSecret = loadConfig(baseEnv).JWT_HS256_SECRET;
const productionEnv: NodeJS.ProcessEnv = {
  ...baseEnv,
  NODE_ENV: 'production',
  JWT_HS256_SECRET: '', // HS256 disabled: only the RS256 key verifies
  INTERNAL_API_TOKEN: randomBytes(32).toString('hex'),
};

const now = (): number => Math.floor(Date.now() / 1000);
const claims = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  sub: 'victim',
  iss: ISSUER,
  aud: AUDIENCE,
  iat: now(),
  exp: now() + 600,
  ...over,
});
const rs = (key: KeyObject = rsa.privateKey): Signer => ({ alg: 'RS256', key });
const valid = (): string => forgeToken(rs(), claims(), { kid: KID });

/** The forged tokens, each with why it must be refused. Built lazily: exp/nbf are relative to now. */
const FORGERIES: [string, () => string][] = [
  ['alg none with the real kid', () => forgeToken({ alg: 'none' }, claims(), { kid: KID })],
  ['alg none without kid', () => forgeToken({ alg: 'none' }, claims())],
  ['alg "None" (case variant), real signature stripped', () => forgeToken({ alg: 'none' }, claims(), { alg: 'None', kid: KID })],
  ['HS256 keyed with the RS256 public key PEM, kid of that key (key confusion)', () => forgeToken({ alg: 'HS256', key: publicPem }, claims(), { kid: KID })],
  ['HS256 keyed with the RS256 public key PEM, no kid (key confusion)', () => forgeToken({ alg: 'HS256', key: publicPem }, claims())],
  ['HS256 keyed with the RS256 public key DER, kid of that key (key confusion)', () => forgeToken({ alg: 'HS256', key: publicDer }, claims(), { kid: KID })],
  ['RS256 signature under a header claiming RS512', () => forgeToken(rs(), claims(), { kid: KID, alg: 'RS512' })],
  ['expired a minute ago (beyond the 5 s clock tolerance)', () => forgeToken(rs(), claims({ exp: now() - 60, iat: now() - 120 }), { kid: KID })],
  ['not yet valid (nbf in 10 minutes)', () => forgeToken(rs(), claims({ nbf: now() + 600 }), { kid: KID })],
  ['wrong issuer', () => forgeToken(rs(), claims({ iss: 'someone-else' }), { kid: KID })],
  ['wrong audience', () => forgeToken(rs(), claims({ aud: 'another-service' }), { kid: KID })],
  ['unknown kid, signed by another key', () => forgeToken(rs(stranger.privateKey), claims(), { kid: 'rs-unknown' })],
  ['unknown kid, signed by the real key', () => forgeToken(rs(), claims(), { kid: 'rs-unknown' })],
  ['the real kid, signed by another key', () => forgeToken(rs(stranger.privateKey), claims(), { kid: KID })],
  ['tampered payload: sub changed, signature kept', () => withPayload(valid(), { ...payloadOf(valid()), sub: 'admin' })],
  ['tampered payload: exp extended, signature kept', () => withPayload(valid(), { ...payloadOf(valid()), exp: now() + 86_400 * 365 })],
  ['missing exp', () => forgeToken(rs(), claims({ exp: undefined }), { kid: KID })],
  ['missing sub', () => forgeToken(rs(), claims({ sub: undefined }), { kid: KID })],
  ['signature removed', () => `${valid().split('.').slice(0, 2).join('.')}.`],
];

type Position = 'header' | 'subprotocol' | 'query';
const POSITIONS: Position[] = ['header', 'subprotocol', 'query'];

interface Outcome {
  opened: boolean;
  status: number;
  body: string;
}

/** Tries one upgrade with `token` in `position`; resolves with what the client saw (never leaves a socket open). */
function attempt(gw: GatewayProcess, token: string, position: Position, origin?: string): Promise<Outcome> {
  const headers: Record<string, string> = origin ? { origin } : {};
  const ws =
    position === 'header'
      ? new WebSocket(gw.url, { headers: { ...headers, authorization: `Bearer ${token}` } })
      : position === 'subprotocol'
        ? new WebSocket(gw.url, ['bearer', token], { headers })
        : new WebSocket(`${gw.url}?access_token=${encodeURIComponent(token)}`, { headers });
  return new Promise((resolve, reject) => {
    ws.once('open', () => {
      // Wait for hello so the upgrade is complete on both sides, then go.
      ws.once('message', () => {
        ws.close();
        resolve({ opened: true, status: 101, body: '' });
      });
    });
    ws.once('unexpected-response', (_req, res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        ws.terminate();
        resolve({ opened: false, status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
      });
    });
    ws.once('error', (err) => reject(err));
  });
}

async function metric(gw: GatewayProcess, name: string, labels = ''): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${gw.internalPort}/metrics`)).text();
  const line = text.split('\n').find((l) => (l.startsWith(`${name} `) || l.startsWith(`${name}{`)) && l.includes(labels));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}

let development: GatewayProcess;
let production: GatewayProcess;

beforeAll(async () => {
  [development, production] = await Promise.all([spawnGateway(baseEnv, `tft${run}-dev`), spawnGateway(productionEnv, `tft${run}-prod`)]);
});

afterAll(async () => {
  await Promise.all([development?.stop(), production?.stop()]);
  rmSync(keyDir, { recursive: true, force: true });
});

describe('hostile input: forged tokens are refused before the WebSocket upgrade (real gateway processes)', () => {
  it('control: a genuine RS256 token opens a socket in every position on both gateways, and a dev HS256 token only where HS256 is configured', async () => {
    for (const gw of [development, production]) {
      for (const position of POSITIONS) {
        expect(await attempt(gw, valid(), position), `${gw.id} ${position}`).toMatchObject({ opened: true });
      }
    }
    const hs = forgeToken({ alg: 'HS256', key: devSecret }, claims());
    expect((await attempt(development, hs, 'header')).opened).toBe(true);
    expect(await attempt(production, hs, 'header')).toMatchObject({ opened: false, status: 401 });
  });

  it('every forged token, in every accepted position, gets 401 with the JSON unauthorized body and never a WebSocket', async () => {
    const [openedBefore, refusedBefore] = await Promise.all(
      [development, production].map(async (gw) => [
        await metric(gw, 'chat_gateway_connections_opened_total'),
        await metric(gw, 'chat_gateway_upgrades_rejected_total', 'reason="unauthorized"'),
      ]),
    ).then((pairs) => [pairs.map((p) => p[0]!), pairs.map((p) => p[1]!)]);
    let attempts = 0;
    for (const [name, make] of FORGERIES) {
      for (const gw of [development, production]) {
        for (const position of POSITIONS) {
          const outcome = await attempt(gw, make(), position);
          const what = `${name} via ${position} on ${gw.id}`;
          expect(outcome.opened, what).toBe(false);
          expect(outcome.status, what).toBe(Errors.UNAUTHORIZED.httpStatus);
          expect(JSON.parse(outcome.body), what).toEqual({
            error: { code: Errors.UNAUTHORIZED.code, name: Errors.UNAUTHORIZED.name, message: Errors.UNAUTHORIZED.message, retry: false },
          });
          attempts++;
        }
      }
    }
    // Server side: no connection was ever opened, every attempt was counted as an unauthorized refusal.
    for (const [i, gw] of [development, production].entries()) {
      expect(await metric(gw, 'chat_gateway_connections_opened_total'), gw.id).toBe(openedBefore![i]);
      expect(await metric(gw, 'chat_gateway_upgrades_rejected_total', 'reason="unauthorized"'), gw.id).toBe(refusedBefore![i]! + attempts / 2);
    }
    expect(development.child.exitCode).toBeNull();
    expect(production.child.exitCode).toBeNull();
  });

  it('an Origin outside the allowlist gets 403 origin_not_allowed before the token is even considered; a listed Origin opens', async () => {
    for (const gw of [development, production]) {
      for (const position of POSITIONS) {
        for (const token of [valid(), forgeToken({ alg: 'none' }, claims())]) {
          const outcome = await attempt(gw, token, position, 'https://evil.example');
          expect(outcome.opened).toBe(false);
          expect(outcome.status).toBe(Errors.ORIGIN_NOT_ALLOWED.httpStatus);
          expect(JSON.parse(outcome.body)).toMatchObject({
            error: { code: Errors.ORIGIN_NOT_ALLOWED.code, name: Errors.ORIGIN_NOT_ALLOWED.name, retry: false },
          });
        }
        for (const origin of ['https://chat.example.evil.example', 'http://chat.example', 'null']) {
          expect((await attempt(gw, valid(), position, origin)).status, origin).toBe(Errors.ORIGIN_NOT_ALLOWED.httpStatus);
        }
        expect((await attempt(gw, valid(), position, ORIGIN)).opened).toBe(true);
      }
    }
  });
});
