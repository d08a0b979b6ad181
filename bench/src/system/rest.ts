import { mintDevToken } from '@chat/server/auth';

/** Minimal REST client for setting up conversations (keep-alive via the global fetch agent). */
export class Rest {
  private readonly tokens = new Map<string, string>();

  constructor(
    private readonly baseUrl: string,
    private readonly env: Record<string, string>,
  ) {}

  token(userId: string): string {
    let t = this.tokens.get(userId);
    if (!t) {
      t = mintDevToken(this.env.JWT_HS256_SECRET!, userId, { issuer: this.env.JWT_ISSUER!, audience: this.env.JWT_AUDIENCE!, ttlSeconds: 6 * 3600 });
      this.tokens.set(userId, t);
    }
    return t;
  }

  async call<T>(userId: string, method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.token(userId)}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path} -> ${res.status}: ${text.slice(0, 300)}`);
    return JSON.parse(text) as T;
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
