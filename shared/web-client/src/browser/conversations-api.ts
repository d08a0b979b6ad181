import { ChatRequestError } from '@chat/sdk';
import { withRetry } from './retry.js';

/** A conversation as the REST API describes it (docs/PROTOCOL.md, "REST API"). */
export interface ConversationInfo {
  conversation_id: string;
  kind: 'direct' | 'group';
  title: string | null;
  epoch: string;
  created_at: number;
}

export interface ConversationDetails {
  conversation: ConversationInfo;
  members: { user_id: string }[];
}

/** The conversation calls the SDK leaves to the app: create one, read its members. Temporary refusals are retried. */
export class ConversationsApi {
  private readonly baseUrl: string;

  constructor(
    baseUrl: string,
    private readonly getToken: () => Promise<string>,
  ) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
  }

  /** The direct conversation with `userId` (the existing one when there is one). */
  async direct(userId: string): Promise<ConversationInfo> {
    return (await this.call<{ conversation: ConversationInfo }>('POST', '/v1/conversations', { kind: 'direct', user_id: userId })).conversation;
  }

  async group(title: string, memberIds: string[]): Promise<ConversationInfo> {
    return (await this.call<{ conversation: ConversationInfo }>('POST', '/v1/conversations', { kind: 'group', title, member_ids: memberIds })).conversation;
  }

  details(conversationId: string): Promise<ConversationDetails> {
    return this.call('GET', `/v1/conversations/${encodeURIComponent(conversationId)}`);
  }

  private call<T>(method: string, path: string, body?: unknown): Promise<T> {
    return withRetry(() => this.callOnce<T>(method, path, body));
  }

  private async callOnce<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${await this.getToken()}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const json = (await res.json().catch(() => null)) as { error?: ConstructorParameters<typeof ChatRequestError>[0] } | null;
    if (!res.ok) throw new ChatRequestError(json?.error ?? { code: 0, name: 'http_error', message: `HTTP ${res.status}`, retry: res.status >= 500 });
    return json as T;
  }
}
