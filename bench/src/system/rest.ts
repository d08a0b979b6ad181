import { mintDevToken } from '@chat/server/auth';
import { DEFAULT_RETRY_POLICY, retryDelayMs, retryHintMs, type RetryPolicy } from './retry-hint.js';

/**
 * Minimal REST client for setting up conversations (keep-alive via the global fetch agent). An
 * answer the server marks retriable (503, or `retry: true`: a Cassandra circuit open under load, a
 * rate limit) is retried with backoff, never sooner than its hint, up to the policy's attempts;
 * `retries` counts them for the report. A retried create whose first try did get stored leaves an
 * extra, unused conversation behind; runs tolerate that.
 */
export class Rest {
  private readonly tokens = new Map<string, string>();
  private readonly policy: RetryPolicy;
  /** Requests retried so far. */
  retries = 0;
  /** The retried answers by `<status> <error name>` (e.g. `503 unavailable`), for the report. */
  readonly retriedBy: Record<string, number> = {};

  constructor(
    private readonly baseUrl: string,
    private readonly env: Record<string, string>,
    policy: Partial<RetryPolicy> = {},
    private readonly wait: (ms: number) => Promise<void> = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  ) {
    this.policy = { ...DEFAULT_RETRY_POLICY, ...policy };
  }

  token(userId: string): string {
    let t = this.tokens.get(userId);
    if (!t) {
      t = mintDevToken(this.env.JWT_HS256_SECRET!, userId, { issuer: this.env.JWT_ISSUER!, audience: this.env.JWT_AUDIENCE!, ttlSeconds: 6 * 3600 });
      this.tokens.set(userId, t);
    }
    return t;
  }

  async call<T>(userId: string, method: string, path: string, body?: unknown): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const res = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${this.token(userId)}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      const text = await res.text();
      if (res.ok) return JSON.parse(text) as T;
      const hintMs = retryHintMs(res.status, res.headers.get('retry-after'), text);
      if (hintMs === undefined || attempt >= this.policy.attempts) {
        throw new Error(`${method} ${path} -> ${res.status}${attempt > 1 ? ` (attempt ${attempt})` : ''}: ${text.slice(0, 300)}`);
      }
      this.retries++;
      const reason = `${res.status} ${errorName(text)}`;
      this.retriedBy[reason] = (this.retriedBy[reason] ?? 0) + 1;
      await this.wait(retryDelayMs(attempt - 1, hintMs, this.policy));
    }
  }

  async createDirect(a: string, b: string): Promise<string> {
    const r = await this.call<{ conversation: { conversation_id: string } }>(a, 'POST', '/v1/conversations', { kind: 'direct', user_id: b });
    return r.conversation.conversation_id;
  }

  /** Creates a group owned by `owner` and adds `members` in chunks. */
  async createGroup(owner: string, title: string, members: string[]): Promise<string> {
    const first = members.slice(0, 500);
    const r = await this.call<{ conversation: { conversation_id: string } }>(owner, 'POST', '/v1/conversations', { kind: 'group', title, member_ids: first });
    const id = r.conversation.conversation_id;
    for (let i = 500; i < members.length; i += 1000) {
      await this.call(owner, 'POST', `/v1/conversations/${id}/members`, { user_ids: members.slice(i, i + 1000) });
    }
    return id;
  }

  /** last_seq of every conversation of `userId`. */
  async lastSeqs(userId: string): Promise<Map<string, number>> {
    const r = await this.call<{ conversations: { conversation_id: string; last_seq: number }[] }>(userId, 'GET', '/v1/conversations');
    return new Map(r.conversations.map((c) => [c.conversation_id, c.last_seq]));
  }
}

/** The `error.name` of an error body, or `-` when it has none. */
function errorName(text: string): string {
  try {
    const name = (JSON.parse(text) as { error?: { name?: unknown } }).error?.name;
    return typeof name === 'string' ? name : '-';
  } catch {
    return '-';
  }
}

/** Runs `fn` over `items` with at most `limit` in flight. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!, i);
      }
    }),
  );
  return out;
}
