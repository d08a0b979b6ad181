import { ChatError, Errors, INTERNAL_TOKEN_HEADER } from '@chat/shared';
import { Pool } from 'undici';
import { chatErrorFromBody } from './chat-service-client.js';

// Mirrors presence-service/src/internal-api.ts (the gateway has no build dependency on it).
export const PRESENCE_PATHS = {
  report: '/internal/v1/presence/report',
  query: '/internal/v1/presence/query',
  typing: '/internal/v1/typing',
} as const;

export interface PresenceStateWire {
  user_id: string;
  online: boolean;
  last_seen?: number;
}

/**
 * presence-service's internal API as the gateway sees it. Every method resolves with the reply
 * or rejects with a ChatError: presence-service's own error, or Errors.UNAVAILABLE (retry) when it
 * cannot be reached.
 */
export interface PresenceClient {
  /** One batched report for this gateway: users now present here, users whose last socket here closed. */
  report(gatewayId: string, online: readonly string[], offline: readonly string[]): Promise<void>;
  /** States of the users `userId` may see (others omitted). */
  query(userId: string, userIds: readonly string[]): Promise<PresenceStateWire[]>;
  typing(userId: string, conversationId: string, state: 'start' | 'stop'): Promise<void>;
  close(): Promise<void>;
}

export interface HttpPresenceClientOptions {
  url: string;
  internalToken: string;
  /** @default 5000 */
  timeoutMs?: number;
  /** @default 16 */
  connections?: number;
}

export class HttpPresenceClient implements PresenceClient {
  private readonly pool: Pool;
  private readonly timeoutMs: number;

  constructor(private readonly opts: HttpPresenceClientOptions) {
    this.timeoutMs = opts.timeoutMs ?? 5000;
    this.pool = new Pool(new URL(opts.url).origin, {
      connections: opts.connections ?? 16,
      keepAliveTimeout: 30_000,
      headersTimeout: this.timeoutMs,
      bodyTimeout: this.timeoutMs,
      connectTimeout: Math.min(this.timeoutMs, 2000),
    });
  }

  async report(gatewayId: string, online: readonly string[], offline: readonly string[]): Promise<void> {
    await this.post(PRESENCE_PATHS.report, { gateway_id: gatewayId, online, offline });
  }

  async query(userId: string, userIds: readonly string[]): Promise<PresenceStateWire[]> {
    const res = (await this.post(PRESENCE_PATHS.query, { user_id: userId, user_ids: userIds })) as { users?: PresenceStateWire[] };
    if (!Array.isArray(res.users)) throw new ChatError(Errors.INTERNAL, 'presence-service sent an invalid reply');
    return res.users;
  }

  async typing(userId: string, conversationId: string, state: 'start' | 'stop'): Promise<void> {
    await this.post(PRESENCE_PATHS.typing, { user_id: userId, conversation_id: conversationId, state });
  }

  async close(): Promise<void> {
    await this.pool.close();
  }

  private async post(path: string, payload: unknown): Promise<unknown> {
    let status: number;
    let text: string;
    try {
      const res = await this.pool.request({
        method: 'POST',
        path,
        headers: { 'content-type': 'application/json', [INTERNAL_TOKEN_HEADER]: this.opts.internalToken },
        body: JSON.stringify(payload),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      status = res.statusCode;
      text = await res.body.text();
    } catch {
      throw new ChatError(Errors.UNAVAILABLE, 'presence-service is unreachable');
    }
    let body: unknown;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      body = undefined;
    }
    if (status >= 200 && status < 300) return body ?? {};
    throw chatErrorFromBody(status, body);
  }
}
