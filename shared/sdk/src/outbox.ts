/**
 * Sends that have not been acked yet (pure; no I/O). Each keeps its client_msg_id for its whole life,
 * so every (re)transmission — after a reconnect, a timeout or a temporary error — carries the same id
 * and the server deduplicates it (G5). Items leave the outbox only when acked or finally rejected.
 */
export interface OutboxItem {
  readonly clientMsgId: string;
  readonly conversationId: string;
  readonly body: string;
  /** Completed attachments the message references (sent as `attachment_ids`); empty for none. */
  readonly attachmentIds: readonly string[];
  /** `ref` of the transmission awaiting an ack on the current connection, if any. */
  ref: string | undefined;
  /** Failed attempts so far (timeouts and temporary errors; disconnects do not count). */
  attempts: number;
  /** True while waiting out a retry delay. */
  waiting: boolean;
}

export class Outbox {
  private readonly items = new Map<string, OutboxItem>();

  get size(): number {
    return this.items.size;
  }

  /** Adds a send; if the client_msg_id is already pending, returns the existing item unchanged. */
  add(conversationId: string, body: string, clientMsgId: string, attachmentIds: readonly string[] = []): OutboxItem {
    const existing = this.items.get(clientMsgId);
    if (existing) return existing;
    const item: OutboxItem = { clientMsgId, conversationId, body, attachmentIds: [...attachmentIds], ref: undefined, attempts: 0, waiting: false };
    this.items.set(clientMsgId, item);
    return item;
  }

  get(clientMsgId: string): OutboxItem | undefined {
    return this.items.get(clientMsgId);
  }

  byRef(ref: string): OutboxItem | undefined {
    for (const item of this.items.values()) if (item.ref === ref) return item;
    return undefined;
  }

  /** Items to transmit now (not in flight, not waiting to retry), oldest first. */
  unsent(): OutboxItem[] {
    return [...this.items.values()].filter((i) => i.ref === undefined && !i.waiting);
  }

  /** All pending items, oldest first. */
  list(): OutboxItem[] {
    return [...this.items.values()];
  }

  markSent(clientMsgId: string, ref: string): void {
    const item = this.items.get(clientMsgId);
    if (!item) return;
    item.ref = ref;
    item.waiting = false;
  }

  /** The transmission never left (socket not writable): the item is unsent again, not counted. */
  unmark(clientMsgId: string): void {
    const item = this.items.get(clientMsgId);
    if (item) item.ref = undefined;
  }

  /** A transmission failed temporarily: count it and hold the item until `markReady`. */
  markRetrying(clientMsgId: string): OutboxItem | undefined {
    const item = this.items.get(clientMsgId);
    if (!item) return undefined;
    item.ref = undefined;
    item.attempts++;
    item.waiting = true;
    return item;
  }

  markReady(clientMsgId: string): void {
    const item = this.items.get(clientMsgId);
    if (item) item.waiting = false;
  }

  /** The connection dropped: nothing is in flight any more; every item is resent after reconnecting. */
  connectionLost(): void {
    for (const item of this.items.values()) {
      item.ref = undefined;
      item.waiting = false;
    }
  }

  /** Removes an item (acked or finally rejected) and returns it. */
  settle(clientMsgId: string): OutboxItem | undefined {
    const item = this.items.get(clientMsgId);
    if (item) this.items.delete(clientMsgId);
    return item;
  }

  /** Removes and returns everything (e.g. on a permanent close). */
  drain(): OutboxItem[] {
    const all = [...this.items.values()];
    this.items.clear();
    return all;
  }
}
