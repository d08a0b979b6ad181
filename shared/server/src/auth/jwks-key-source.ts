import { KeyObject } from 'node:crypto';
import { importJWK, type JWK } from 'jose';
import type { Logger } from '../logger.js';
import type { AsymmetricAlg, RemoteKeys } from './token-verifier.js';

export interface JwksOptions {
  /** The identity provider's JWKS document (JWT_JWKS_URL), http(s). */
  url: string;
  /** The issuer whose keys these are (JWT_ISSUER): the cache is keyed by issuer and kid. */
  issuer: string;
  /**
   * Refetch the document this often (keys the provider added ahead of a rotation arrive here).
   * @default 600000
   */
  refreshIntervalMs?: number;
  /**
   * A token naming an unknown kid refetches the document at most once per this interval, so
   * forged kids cannot make the process hammer the provider.
   * @default 30000
   */
  unknownKidCooldownMs?: number;
  /** @default 5000 */
  timeoutMs?: number;
}

const ALGORITHMS: readonly AsymmetricAlg[] = ['RS256', 'ES256'];

/** The algorithm a JWK is pinned to: its own `alg`, or the one its key type implies; never the token's. */
function pinnedAlg(jwk: JWK): AsymmetricAlg | undefined {
  if (jwk.alg !== undefined) return (ALGORITHMS as readonly string[]).includes(jwk.alg) ? (jwk.alg as AsymmetricAlg) : undefined;
  if (jwk.kty === 'RSA') return 'RS256';
  if (jwk.kty === 'EC' && jwk.crv === 'P-256') return 'ES256';
  return undefined;
}

/**
 * Public keys from an identity provider's JWKS URL, cached by (issuer, kid) and replaced as a whole
 * on each fetch: a key the provider adds is usable after the next fetch, a key it removes stops
 * verifying then, and no restart is needed. Fetched at start, every `refreshIntervalMs`, and when
 * a token names a kid the cache lacks (at most once per `unknownKidCooldownMs`). A failed fetch
 * keeps the previous keys. Lookups are synchronous, so verification stays off the network.
 */
export class JwksKeySource implements RemoteKeys {
  private readonly opts: Required<JwksOptions>;
  private keys = new Map<string, { key: KeyObject; alg: AsymmetricAlg }>();
  private inflight: Promise<void> | undefined;
  private lastFetchStartedAt = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    options: JwksOptions,
    private readonly log: Logger,
  ) {
    const url = new URL(options.url);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error('JWT_JWKS_URL must be an http(s) URL');
    this.opts = { refreshIntervalMs: 600_000, unknownKidCooldownMs: 30_000, timeoutMs: 5000, ...options };
  }

  /** Fetches the keys once (a failure is logged; the next refresh tries again) and schedules refreshes. */
  async start(): Promise<void> {
    await this.refresh().catch(() => undefined);
    this.timer = setInterval(() => void this.refresh().catch(() => undefined), this.opts.refreshIntervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  keyFor(kid: string): { key: KeyObject; alg: AsymmetricAlg } | undefined {
    return this.keys.get(this.cacheKey(kid));
  }

  /** For a token whose kid is unknown: refetch unless one started within the cooldown. Resolves when done. */
  async refreshForUnknownKid(): Promise<void> {
    if (this.inflight) return this.inflight.catch(() => undefined);
    if (Date.now() - this.lastFetchStartedAt < this.opts.unknownKidCooldownMs) return;
    await this.refresh().catch(() => undefined);
  }

  /** Fetches the document and replaces the keys; one fetch at a time. Rejects (and keeps the old keys) on failure. */
  refresh(): Promise<void> {
    this.inflight ??= this.fetchKeys().finally(() => (this.inflight = undefined));
    return this.inflight;
  }

  private cacheKey(kid: string): string {
    return `${this.opts.issuer}\n${kid}`;
  }

  private async fetchKeys(): Promise<void> {
    this.lastFetchStartedAt = Date.now();
    try {
      const res = await fetch(this.opts.url, { signal: AbortSignal.timeout(this.opts.timeoutMs), headers: { accept: 'application/json' } });
      if (!res.ok) throw new Error(`JWKS answered ${res.status}`);
      const doc = (await res.json()) as { keys?: unknown };
      if (!Array.isArray(doc.keys)) throw new Error('JWKS document has no keys array');
      const next = new Map<string, { key: KeyObject; alg: AsymmetricAlg }>();
      for (const jwk of doc.keys as JWK[]) {
        const alg = pinnedAlg(jwk);
        if (typeof jwk.kid !== 'string' || alg === undefined || (jwk.use !== undefined && jwk.use !== 'sig') || 'd' in jwk) continue;
        const key = await importJWK(jwk, alg);
        if (key instanceof KeyObject && key.type === 'public') next.set(this.cacheKey(jwk.kid), { key, alg });
      }
      this.keys = next;
      this.log.info({ keys: next.size, issuer: this.opts.issuer }, 'JWKS keys loaded');
    } catch (err) {
      this.log.warn({ err, url: this.opts.url }, 'JWKS fetch failed; keeping the previous keys');
      throw err;
    }
  }
}
