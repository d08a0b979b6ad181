import { createPublicKey, createSecretKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import jwt from 'jsonwebtoken';
import { USER_ID_PATTERN } from '@chat/protocol';

export type AsymmetricAlg = 'RS256' | 'ES256';

export interface PublicKeyEntry {
  kid: string;
  alg: AsymmetricAlg;
  pem: string;
}

export interface TokenVerifierOptions {
  issuer: string;
  audience: string;
  /** HS256 shared secret (development); empty disables HS256 entirely. */
  hs256Secret: string;
  /** Production keys by kid; each key is pinned to exactly one algorithm. */
  publicKeys: PublicKeyEntry[];
  /** Seconds of clock skew accepted on exp/nbf. @default 5 */
  clockToleranceSeconds?: number;
  /** Keys from the identity provider's JWKS URL (JwksKeySource), consulted for kids not in `publicKeys`. */
  jwks?: RemoteKeys;
}

/** Keys fetched from elsewhere: looked up synchronously, refetched when a token names an unknown kid. */
export interface RemoteKeys {
  keyFor(kid: string): { key: KeyObject; alg: AsymmetricAlg } | undefined;
  refreshForUnknownKid(): Promise<void>;
}

export interface VerifiedToken {
  userId: string;
  /** Expiry, ms since the Unix epoch. */
  expiresAt: number;
}

export class TokenError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'TokenError';
  }
}

/**
 * Verifies access tokens. The algorithm is never taken from the token alone: a token with a
 * `kid` must use that key's pinned algorithm; a token without `kid` is accepted only as HS256
 * when a secret is configured. `exp` and `sub` are required; `iss` and `aud` must match.
 */
export class TokenVerifier {
  // Key objects are built once: building one per verification costs CPU and garbage on every upgrade.
  private readonly keys: Map<string, { key: KeyObject; alg: AsymmetricAlg }>;
  private readonly secret: KeyObject | null;

  constructor(private readonly opts: TokenVerifierOptions) {
    this.keys = new Map(opts.publicKeys.map((k) => [k.kid, { key: createPublicKey(k.pem), alg: k.alg }]));
    this.secret = opts.hs256Secret === '' ? null : createSecretKey(Buffer.from(opts.hs256Secret, 'utf8'));
  }

  verify(token: string): VerifiedToken {
    if (token.length > 8192) throw new TokenError('token too long');
    const decoded = jwt.decode(token, { complete: true });
    if (!decoded || typeof decoded.payload === 'string') throw new TokenError('malformed token');
    const kid = decoded.header.kid;
    let key: KeyObject;
    let alg: jwt.Algorithm;
    const entry = kid === undefined ? undefined : (this.keys.get(kid) ?? this.opts.jwks?.keyFor(kid));
    if (entry) {
      key = entry.key;
      alg = entry.alg;
    } else if (kid === undefined && this.secret) {
      key = this.secret;
      alg = 'HS256';
    } else {
      throw new TokenError('unknown key id');
    }
    let payload: jwt.JwtPayload;
    try {
      payload = jwt.verify(token, key, {
        algorithms: [alg],
        issuer: this.opts.issuer,
        audience: this.opts.audience,
        clockTolerance: this.opts.clockToleranceSeconds ?? 5,
        complete: false,
      }) as jwt.JwtPayload;
    } catch (err) {
      throw new TokenError((err as Error).message);
    }
    if (typeof payload.exp !== 'number') throw new TokenError('exp is required');
    if (typeof payload.sub !== 'string' || !USER_ID_PATTERN.test(payload.sub)) throw new TokenError('sub is missing or invalid');
    return { userId: payload.sub, expiresAt: payload.exp * 1000 };
  }

  /**
   * verify(), and when the token names a kid no key has yet, one JWKS refetch (rate limited) and a
   * second try: a key the provider just started signing with is accepted without a restart.
   */
  async verifyAsync(token: string): Promise<VerifiedToken> {
    try {
      return this.verify(token);
    } catch (err) {
      if (!(err instanceof TokenError) || err.message !== 'unknown key id' || !this.opts.jwks) throw err;
      await this.opts.jwks.refreshForUnknownKid();
      return this.verify(token);
    }
  }
}

/** Reads JWT_PUBLIC_KEYS_FILE: `{ "keys": [{ "kid", "alg", "pem" }] }`. */
export function loadPublicKeys(file: string): PublicKeyEntry[] {
  if (file === '') return [];
  const parsed = JSON.parse(readFileSync(file, 'utf8')) as { keys?: unknown };
  if (!Array.isArray(parsed.keys)) throw new Error(`${file}: "keys" must be an array`);
  return parsed.keys.map((k: unknown, i) => {
    const e = k as Partial<PublicKeyEntry>;
    if (typeof e.kid !== 'string' || typeof e.pem !== 'string' || (e.alg !== 'RS256' && e.alg !== 'ES256')) {
      throw new Error(`${file}: keys[${i}] needs kid, pem and alg RS256|ES256`);
    }
    return { kid: e.kid, alg: e.alg, pem: e.pem };
  });
}

/** Mints an HS256 development token (tests, `npm run token`). */
export function mintDevToken(secret: string, userId: string, opts: { issuer: string; audience: string; ttlSeconds?: number }): string {
  return jwt.sign({}, secret, {
    algorithm: 'HS256',
    subject: userId,
    issuer: opts.issuer,
    audience: opts.audience,
    expiresIn: opts.ttlSeconds ?? 3600,
  });
}
