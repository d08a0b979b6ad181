import { ChatError, Errors, type ClientFrame, type ServerFrame } from '@chat/protocol';
import { TokenError } from '@chat/server/auth';
import type { ChatServiceClient } from '../backend/chat-service-client.js';
import type { FrameCaller, PresenceAndTyping } from '../presence/presence-and-typing.js';
import type { AccessTokenVerifier } from '../transport/upgrade-handler.js';

/**
 * Turns one validated client frame into its reply. The one place that knows which backend
 * handles which frame type; add a type to protocol v1 and this switch stops compiling until it is
 * routed. Rejects with ChatError (registry code) on failure; the caller makes an error frame.
 * The user id sent to backends is always `caller.userId` (the token subject), never a frame field.
 */
export class FrameHandler {
  constructor(
    private readonly chat: ChatServiceClient,
    private readonly presence: PresenceAndTyping,
    /** Byte budget of sync/history/inbox replies (chat-service pages them with has_more). */
    private readonly replyBudgetBytes?: number,
    /** Verifies `auth` frames (in-band token refresh); without it they are refused as unknown. */
    private readonly verifier?: AccessTokenVerifier,
  ) {}

  async handle(caller: FrameCaller, frame: ClientFrame): Promise<ServerFrame | undefined> {
    switch (frame.type) {
      case 'ping':
        return { type: 'pong', ref: frame.ref };
      case 'auth':
        return this.reauthenticate(caller, frame.ref, frame.token);
      case 'send': {
        const res = await this.chat.send({
          user_id: caller.userId,
          conversation_id: frame.conversation_id,
          client_msg_id: frame.client_msg_id,
          body: frame.body,
          ...(frame.attachment_ids ? { attachment_ids: frame.attachment_ids } : {}),
        });
        return {
          type: 'ack',
          ref: frame.ref,
          conversation_id: res.conversation_id,
          client_msg_id: res.client_msg_id,
          message_id: res.message_id,
          duplicate: res.duplicate,
        };
      }
      case 'sync': {
        const res = await this.chat.sync({ user_id: caller.userId, positions: frame.positions, ...this.budget() });
        return { type: 'sync.result', ref: frame.ref, conversations: res.conversations };
      }
      case 'history': {
        const { type: _type, ref, ...query } = frame;
        const page = await this.chat.history({ user_id: caller.userId, ...query, ...this.budget() });
        return { type: 'history.result', ref, conversation_id: page.conversation_id, messages: page.messages, has_more: page.has_more };
      }
      case 'typing':
        return this.presence.typing(caller, frame);
      case 'read': {
        const res = await this.chat.read({ user_id: caller.userId, conversation_id: frame.conversation_id, seq: frame.seq });
        return { type: 'receipt', ref: frame.ref, conversation_id: res.conversation_id, user_id: caller.userId, seq: res.read_seq };
      }
      case 'presence.sub':
      case 'presence.unsub':
        return this.presence.presence(caller, frame);
      case 'inbox': {
        const page = await this.chat.inbox({
          user_id: caller.userId,
          ...(frame.cursor !== undefined ? { cursor: frame.cursor } : {}),
          ...(frame.large_first_page !== undefined ? { large_first_page: frame.large_first_page } : {}),
          ...this.budget(),
        });
        return { type: 'inbox.result', ref: frame.ref, messages: page.messages, large: page.large, cursor: page.cursor, has_more: page.has_more };
      }
      default:
        return assertNever(frame);
    }
  }

  /**
   * A fresh token for the same user moves the connection's expiry; anything else (invalid, expired,
   * another subject) is refused with 4008 and leaves the connection on its current token.
   */
  private async reauthenticate(caller: FrameCaller, ref: string, token: string): Promise<ServerFrame> {
    if (!this.verifier || !caller.renewExpiry) throw new ChatError(Errors.UNKNOWN_TYPE, 'auth is not supported here');
    let identity;
    try {
      identity = await this.verifier.verifyAsync(token);
    } catch (err) {
      if (err instanceof TokenError) throw new ChatError(Errors.UNAUTHORIZED, `invalid token: ${err.message}`);
      throw err;
    }
    if (identity.userId !== caller.userId) throw new ChatError(Errors.UNAUTHORIZED, 'the token is for another user');
    caller.renewExpiry(identity.expiresAt);
    return { type: 'auth.ok', ref, expires_at: identity.expiresAt };
  }

  private budget(): { max_bytes?: number } {
    return this.replyBudgetBytes !== undefined ? { max_bytes: this.replyBudgetBytes } : {};
  }

  /** Whether a frame goes to a backend (counts against the socket's in-flight limit). */
  static isRemote(frame: ClientFrame): boolean {
    return frame.type !== 'ping';
  }
}

function assertNever(value: never): never {
  throw new Error(`unhandled frame ${JSON.stringify(value)}`);
}
