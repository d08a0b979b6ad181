import type { Timers } from './timers.js';

/** Seconds-precision `exp` of a JWT, read without verifying it (the server verifies); undefined when absent. */
export function tokenExpiry(token: string): number | undefined {
  const payload = token.split('.')[1];
  if (payload === undefined) return undefined;
  try {
    const json = JSON.parse(
      atob(
        payload
          .replace(/-/g, '+')
          .replace(/_/g, '/')
          .padEnd(Math.ceil(payload.length / 4) * 4, '='),
      ),
    ) as { exp?: unknown };
    return typeof json.exp === 'number' && Number.isFinite(json.exp) ? json.exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * When to refresh a token expiring at `expiresAt`: `aheadMs` before it, but never later than 80% of
 * the way there (short-lived tokens), and not sooner than 1 s from now.
 */
export function refreshDelay(expiresAt: number, now: number, aheadMs: number): number {
  const remaining = expiresAt - now;
  return Math.max(1000, Math.min(remaining - aheadMs, Math.floor(remaining * 0.8)));
}

/**
 * Keeps one connection authenticated past its token's `exp`: shortly before it, fetches a fresh
 * token and sends it in band (`auth`), so the connection is kept instead of closed with 4500 and
 * reopened. A refused or failed refresh is reported and changes nothing else: the gateway closes
 * the connection at expiry and the client reconnects with a fresh token, as without refresh.
 */
export class TokenRefresh {
  private handle: unknown;
  private generation = 0;

  constructor(
    private readonly timers: Timers,
    private readonly fetchToken: () => Promise<string>,
    /** Sends `auth` and resolves with the new expiry (ms), or rejects. */
    private readonly authenticate: (token: string) => Promise<number>,
    private readonly onError: (err: Error) => void,
    private readonly aheadMs: number,
  ) {}

  /** A connection is ready, authenticated with `token`. */
  connected(token: string | undefined): void {
    this.stop();
    const expiresAt = token === undefined ? undefined : tokenExpiry(token);
    if (expiresAt !== undefined) this.schedule(expiresAt, this.generation);
  }

  /** The connection is gone (or the client closed): no refresh for it. */
  stop(): void {
    this.generation++;
    if (this.handle !== undefined) this.timers.clearTimeout(this.handle);
    this.handle = undefined;
  }

  private schedule(expiresAt: number, generation: number): void {
    this.handle = this.timers.setTimeout(() => void this.refresh(generation), refreshDelay(expiresAt, this.timers.now(), this.aheadMs));
  }

  private async refresh(generation: number): Promise<void> {
    this.handle = undefined;
    try {
      const expiresAt = await this.authenticate(await this.fetchToken());
      if (generation === this.generation) this.schedule(expiresAt, generation);
    } catch (err) {
      if (generation === this.generation) this.onError(err instanceof Error ? err : new Error(String(err)));
    }
  }
}
