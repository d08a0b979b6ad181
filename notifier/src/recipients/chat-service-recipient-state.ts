import { INTERNAL_PATHS, INTERNAL_TOKEN_HEADER, MAX_PUSH_STATE_ENTRIES, type InternalPushStateRequest, type PushRecipientState } from '@chat/protocol/internal';
import type { RecipientKey, RecipientState, RecipientStateLookup } from './recipient-state.js';

export interface ChatServiceStateOptions {
  /** chat-service's internal listener (CHAT_SERVICE_URL). */
  url: string;
  /** INTERNAL_API_TOKEN. */
  internalToken: string;
  /** Per request. @default 5000 */
  timeoutMs?: number;
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** One reply entry checked against the key it answers: anything else fails the whole lookup. */
function toState(key: RecipientKey, s: Partial<PushRecipientState> | undefined): RecipientState {
  if (
    !s ||
    s.user_id !== key.userId ||
    s.conversation_id !== key.conversationId ||
    !isCount(s.read_seq) ||
    !isCount(s.total_unread) ||
    typeof s.muted !== 'boolean' ||
    typeof s.member !== 'boolean'
  ) {
    throw new Error('chat-service sent an invalid push-state reply');
  }
  return { readSeq: s.read_seq, muted: s.muted, member: s.member, totalUnread: s.total_unread };
}

/**
 * Recipients' state from chat-service's internal API (POST /internal/v1/push-state): the inbox
 * owns read positions, mute and the unread rule, so the notifier reads them there rather than
 * from the tables. One request per MAX_PUSH_STATE_ENTRIES keys; a dispatch round makes one.
 */
export class ChatServiceRecipientState implements RecipientStateLookup {
  private readonly endpoint: string;
  private readonly timeoutMs: number;

  constructor(private readonly opts: ChatServiceStateOptions) {
    this.endpoint = new URL(INTERNAL_PATHS.pushState, opts.url).toString();
    this.timeoutMs = opts.timeoutMs ?? 5000;
  }

  async states(keys: readonly RecipientKey[]): Promise<RecipientState[]> {
    const out: RecipientState[] = [];
    for (let i = 0; i < keys.length; i += MAX_PUSH_STATE_ENTRIES) {
      const chunk = keys.slice(i, i + MAX_PUSH_STATE_ENTRIES);
      const request: InternalPushStateRequest = { entries: chunk.map((k) => ({ user_id: k.userId, conversation_id: k.conversationId })) };
      const res = await fetch(this.endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/json', [INTERNAL_TOKEN_HEADER]: this.opts.internalToken },
        body: JSON.stringify(request),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      if (!res.ok) throw new Error(`chat-service answered push-state with ${res.status}`);
      const states = ((await res.json()) as { states?: unknown }).states;
      if (!Array.isArray(states) || states.length !== chunk.length) throw new Error('chat-service sent an invalid push-state reply');
      chunk.forEach((k, j) => out.push(toState(k, states[j] as Partial<PushRecipientState> | undefined)));
    }
    return out;
  }
}
