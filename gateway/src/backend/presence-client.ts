import { ChatError, Errors } from '@chat/protocol';
import {
  PRESENCE_PATHS,
  type PresenceAuthorizeRequest,
  type PresenceAuthorizeResponse,
  type PresenceQueryRequest,
  type PresenceQueryResponse,
  type PresenceReportRequest,
  type PresenceState,
  type TypingRequest,
} from '@chat/protocol/internal';
import { InternalHttp } from './internal-http.js';
import { QueryCoalescer } from './query-coalescer.js';

/**
 * presence-service's internal API as the gateway sees it. Every method resolves with the reply
 * or rejects with a ChatError: presence-service's own error, or Errors.UNAVAILABLE (retry) when it
 * cannot be reached.
 */
export interface PresenceClient {
  /** One batched report for this gateway: users now present here, users whose last socket here closed. */
  report(gatewayId: string, online: readonly string[], offline: readonly string[]): Promise<void>;
  /** States of the users `userId` may see (others omitted, each once, as a client may see them): authorization and a state read (coalesced with other queries). */
  query(userId: string, userIds: readonly string[]): Promise<PresenceState[]>;
  /** For each check, the users its watcher may still see (membership only, no state read). */
  authorize(checks: PresenceAuthorizeRequest['checks']): Promise<string[][]>;
  typing(userId: string, conversationId: string, state: 'start' | 'stop'): Promise<void>;
  close(): Promise<void>;
}

/** One presence-service instance: a PresenceClient that also sends a batch of query checks as it is (no coalescing). */
export interface PresenceInstanceClient extends PresenceClient {
  queryBatch(request: PresenceQueryRequest): Promise<PresenceQueryResponse>;
}

export interface HttpPresenceClientOptions {
  url: string;
  internalToken: string;
  /** @default 5000 */
  timeoutMs?: number;
  /** @default 16 */
  connections?: number;
}

export class HttpPresenceClient implements PresenceInstanceClient {
  private readonly http: InternalHttp;
  private readonly queries: QueryCoalescer;

  constructor(opts: HttpPresenceClientOptions) {
    this.http = new InternalHttp({
      url: opts.url,
      internalToken: opts.internalToken,
      service: 'presence-service',
      timeoutMs: opts.timeoutMs ?? 5000,
      connections: opts.connections ?? 16,
    });
    this.queries = new QueryCoalescer((request) => this.queryBatch(request), { queueTimeoutMs: opts.timeoutMs ?? 5000 });
  }

  async report(gatewayId: string, online: readonly string[], offline: readonly string[]): Promise<void> {
    const request: PresenceReportRequest = { gateway_id: gatewayId, online: [...online], offline: [...offline] };
    await this.http.post(PRESENCE_PATHS.report, request);
  }

  query(userId: string, userIds: readonly string[]): Promise<PresenceState[]> {
    return this.queries.query(userId, userIds);
  }

  queryBatch(request: PresenceQueryRequest): Promise<PresenceQueryResponse> {
    return this.http.post<PresenceQueryResponse>(PRESENCE_PATHS.query, request);
  }

  async authorize(checks: PresenceAuthorizeRequest['checks']): Promise<string[][]> {
    const request: PresenceAuthorizeRequest = { checks };
    const res = await this.http.post<Partial<PresenceAuthorizeResponse>>(PRESENCE_PATHS.authorize, request);
    if (!Array.isArray(res.allowed) || res.allowed.length !== checks.length || !res.allowed.every(Array.isArray)) {
      throw new ChatError(Errors.INTERNAL, 'presence-service sent an invalid reply');
    }
    return res.allowed;
  }

  async typing(userId: string, conversationId: string, state: 'start' | 'stop'): Promise<void> {
    const request: TypingRequest = { user_id: userId, conversation_id: conversationId, state };
    await this.http.post(PRESENCE_PATHS.typing, request);
  }

  close(): Promise<void> {
    return this.http.close();
  }
}
