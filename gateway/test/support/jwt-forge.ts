import { createHmac, createSign, type KeyObject } from 'node:crypto';

/**
 * Builds JWS compact tokens byte for byte with node:crypto, independently of the JWT library the
 * gateway verifies with, so a test can forge what that library would refuse to sign (alg none,
 * HS256 keyed with a public key, a payload changed under a kept signature).
 */
export type Signer = { alg: 'none' } | { alg: 'HS256'; key: Buffer | string } | { alg: 'RS256'; key: KeyObject };

const b64url = (data: Buffer | string): string => Buffer.from(data).toString('base64url');
const b64json = (value: unknown): string => b64url(JSON.stringify(value));

/** A token whose header is `{ alg, typ: 'JWT', ...header }` (header.alg overrides the signer's). */
export function forgeToken(signer: Signer, payload: Record<string, unknown>, header: Record<string, unknown> = {}): string {
  const input = `${b64json({ alg: signer.alg, typ: 'JWT', ...header })}.${b64json(payload)}`;
  switch (signer.alg) {
    case 'none':
      return `${input}.`;
    case 'HS256':
      return `${input}.${createHmac('sha256', signer.key).update(input).digest('base64url')}`;
    case 'RS256':
      return `${input}.${createSign('RSA-SHA256').update(input).sign(signer.key, 'base64url')}`;
  }
}

/** `token` with its payload replaced by `payload`; header and signature are kept as they were. */
export function withPayload(token: string, payload: Record<string, unknown>): string {
  const [header, , signature] = token.split('.');
  return `${header}.${b64json(payload)}.${signature}`;
}

/** The decoded payload of a compact token (no verification). */
export function payloadOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
}
