import { generateKeyPairSync } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { describe, expect, it } from 'vitest';
import { TokenError, TokenVerifier, mintDevToken } from './token-verifier.js';

const base = { issuer: 'iss', audience: 'aud', hs256Secret: 'secret' };
const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
const verifier = new TokenVerifier({ ...base, publicKeys: [{ kid: 'k1', alg: 'ES256', pem }] });

describe('TokenVerifier', () => {
  it('accepts a dev HS256 token and an ES256 token by kid', () => {
    expect(verifier.verify(mintDevToken('secret', 'alice', { issuer: 'iss', audience: 'aud' })).userId).toBe('alice');
    const es = jwt.sign({}, privateKey, { algorithm: 'ES256', keyid: 'k1', subject: 'bob', issuer: 'iss', audience: 'aud', expiresIn: 60 });
    expect(verifier.verify(es).userId).toBe('bob');
  });

  it.each([
    ['wrong secret', () => mintDevToken('other', 'alice', { issuer: 'iss', audience: 'aud' })],
    ['wrong issuer', () => mintDevToken('secret', 'alice', { issuer: 'x', audience: 'aud' })],
    ['wrong audience', () => mintDevToken('secret', 'alice', { issuer: 'iss', audience: 'x' })],
    ['expired', () => jwt.sign({ exp: Math.floor(Date.now() / 1000) - 60 }, 'secret', { subject: 'a', issuer: 'iss', audience: 'aud' })],
    ['no exp', () => jwt.sign({}, 'secret', { subject: 'a', issuer: 'iss', audience: 'aud' })],
    ['alg none', () => jwt.sign({}, '', { algorithm: 'none', subject: 'a', issuer: 'iss', audience: 'aud', expiresIn: 60 })],
    [
      'HS256 signed with the public key of kid k1',
      () => jwt.sign({}, pem, { algorithm: 'HS256', keyid: 'k1', subject: 'a', issuer: 'iss', audience: 'aud', expiresIn: 60 }),
    ],
    ['unknown kid', () => jwt.sign({}, 'secret', { keyid: 'k9', subject: 'a', issuer: 'iss', audience: 'aud', expiresIn: 60 })],
    ['garbage', () => 'not.a.token'],
  ])('rejects %s', (_name, make) => {
    expect(() => verifier.verify(make())).toThrow(TokenError);
  });
});
