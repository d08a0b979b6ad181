/** One message the sequencer stored (or is about to store), as remembered for deduplication. */
export interface SequencedSend {
  conversation_id: string;
  sender_id: string;
  client_msg_id: string;
  message_id: string;
  seq: number;
  body_sha256: string;
  created_at: number;
}

/** `${sender_id}\n${client_msg_id}`: the key a send is deduplicated by within a conversation. */
export function clientKey(r: { sender_id: string; client_msg_id: string }): string {
  return `${r.sender_id}\n${r.client_msg_id}`;
}

/** A key to look up, with the time the rows of interest are near (G5's window either side). */
export interface SendKey {
  sender_id: string;
  client_msg_id: string;
  created_at: number;
}

/**
 * The sequencer's durable memory of what it stored, by (conversation, sender, client_msg_id).
 *
 * Contract: the rows are written by `MessageStore.append`, in the same atomic write as the
 * messages they describe, so a row exists exactly when its message was stored (a later owner
 * that rewrote that seq aside, which is why a reader still confirms a row against the message
 * store before trusting it). Rows of one key with different message_ids are all kept (a resend
 * whose idempotency record was lost gets a new message_id; a reused client_msg_id with a
 * different body is a different message). Rows expire after 8 days (longer than G5's 24 h and
 * than the topic's retention).
 */
export interface SequencedSendStore {
  /**
   * The rows of each `clientKey` of the conversation created within G5's window (24 h) of the
   * key's `created_at`, and possibly older or newer ones (keys without rows are absent).
   */
  find(conversationId: string, keys: SendKey[]): Promise<Map<string, SequencedSend[]>>;
}

/**
 * Bounds the queries a store keeps in flight across all of its calls: concurrent conversations
 * each asking for many rows must queue here rather than overflow the driver's per-connection limit.
 */
export class InFlightLimit {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly max: number) {}

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active < this.max) this.active++;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await fn();
    } finally {
      // Hand the slot straight to the next waiter, or free it.
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}
