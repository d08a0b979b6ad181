import type { PresenceEventFrame, TypingEventFrame } from '@chat/protocol';

/** How long a typing indicator stays without a refresh: the server's TTL (G6); a `stop` may be lost. */
const TYPING_VISIBLE_MS = 3000;

export interface PresenceState {
  online: boolean;
  lastSeen?: number;
}

/** Who is online (from presence frames) and who is typing where (expiring on their own). */
export class PresenceAndTyping {
  private readonly presence = new Map<string, PresenceState>();
  private readonly typists = new Map<string, Map<string, ReturnType<typeof setTimeout>>>();
  private readonly listeners = new Set<() => void>();

  onChange(listener: () => void): void {
    this.listeners.add(listener);
  }

  presenceOf(userId: string): PresenceState | undefined {
    return this.presence.get(userId);
  }

  onPresence(frame: PresenceEventFrame): void {
    for (const u of frame.users) this.presence.set(u.user_id, { online: u.online, ...(u.last_seen !== undefined ? { lastSeen: u.last_seen } : {}) });
    this.changed();
  }

  onTyping(frame: TypingEventFrame): void {
    let users = this.typists.get(frame.conversation_id);
    if (!users) this.typists.set(frame.conversation_id, (users = new Map()));
    clearTimeout(users.get(frame.user_id));
    if (frame.state === 'start')
      users.set(
        frame.user_id,
        setTimeout(() => this.stopTyping(frame.conversation_id, frame.user_id), TYPING_VISIBLE_MS),
      );
    else users.delete(frame.user_id);
    this.changed();
  }

  /** A typist's message arrived: the indicator goes at once. */
  stopTyping(conversationId: string, userId: string): void {
    const users = this.typists.get(conversationId);
    if (!users?.has(userId)) return;
    clearTimeout(users.get(userId));
    users.delete(userId);
    this.changed();
  }

  typing(conversationId: string): string[] {
    return [...(this.typists.get(conversationId)?.keys() ?? [])];
  }

  private changed(): void {
    for (const l of this.listeners) l();
  }
}
