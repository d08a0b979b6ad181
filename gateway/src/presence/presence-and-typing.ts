import { ChatError, Errors, type PresenceSubFrame, type ServerFrame, type TypingFrame } from '@chat/protocol';

/** The authenticated caller of a frame. */
export interface FrameCaller {
  userId: string;
  connectionId: string;
  /** Moves the connection's token expiry (in-band refresh); absent where a caller has no socket. */
  renewExpiry?(expiresAt: number): void;
}

/**
 * Typing indicators (best-effort, at-most-once, 3 s TTL — G6) and presence subscriptions (read
 * receipts go to chat-service, not through here). Each method returns the reply frame for the
 * caller (or undefined for none) and rejects with a ChatError carrying a registry code.
 */
export interface PresenceAndTyping {
  typing(caller: FrameCaller, frame: TypingFrame): Promise<ServerFrame | undefined>;
  presence(caller: FrameCaller, frame: PresenceSubFrame): Promise<ServerFrame | undefined>;
}

const NOT_YET = 'not supported by this server yet';

/** Without presence-service (PRESENCE_SERVICE_URL empty): every call is refused with UNKNOWN_TYPE. */
export class UnsupportedPresenceAndTyping implements PresenceAndTyping {
  typing(): Promise<ServerFrame | undefined> {
    return Promise.reject(new ChatError(Errors.UNKNOWN_TYPE, NOT_YET));
  }

  presence(): Promise<ServerFrame | undefined> {
    return Promise.reject(new ChatError(Errors.UNKNOWN_TYPE, NOT_YET));
  }
}
