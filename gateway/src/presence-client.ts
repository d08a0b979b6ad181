import { ChatError, Errors } from '@chat/protocol';
import { InternalHttp } from './internal-http.js';

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
  private readonly http: InternalHttp;

  constructor(opts: HttpPresenceClientOptions) {
    this.http = new InternalHttp({
      url: opts.url,
      internalToken: opts.internalToken,
      service: 'presence-service',
      timeoutMs: opts.timeoutMs ?? 5000,
      connections: opts.connections ?? 16,
    });
  }

  async report(gatewayId: string, online: readonly string[], offline: readonly string[]): Promise<void> {
    await this.http.post(PRESENCE_PATHS.report, { gateway_id: gatewayId, online, offline });
  }

  async query(userId: string, userIds: readonly string[]): Promise<PresenceStateWire[]> {
    const res = await this.http.post<{ users?: PresenceStateWire[] }>(PRESENCE_PATHS.query, { user_id: userId, user_ids: userIds });
    if (!Array.isArray(res.users)) throw new ChatError(Errors.INTERNAL, 'presence-service sent an invalid reply');
    return res.users;
  }

  async typing(userId: string, conversationId: string, state: 'start' | 'stop'): Promise<void> {
    await this.http.post(PRESENCE_PATHS.typing, { user_id: userId, conversation_id: conversationId, state });
  }

  close(): Promise<void> {
    return this.http.close();
  }
}
