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
  private transmitted = 0;

  get size(): number {
    return this.items.size;
  }

  /** Items transmitted and awaiting an ack on the current connection. */
  get inFlight(): number {
    return this.transmitted;
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

  /** Up to `limit` items to transmit now (not in flight, not waiting to retry), oldest first. */
  unsent(limit = Infinity): OutboxItem[] {
    const out: OutboxItem[] = [];
    for (const item of this.items.values()) {
      if (out.length >= limit) break;
      if (item.ref === undefined && !item.waiting) out.push(item);
    }
    return out;
  }

  /** All pending items, oldest first. */
  list(): OutboxItem[] {
    return [...this.items.values()];
  }

  markSent(clientMsgId: string, ref: string): void {
    const item = this.items.get(clientMsgId);
    if (!item) return;
    this.setRef(item, ref);
    item.waiting = false;
  }

  /** The transmission never left (socket not writable): the item is unsent again, not counted. */
  unmark(clientMsgId: string): void {
    const item = this.items.get(clientMsgId);
    if (item) this.setRef(item, undefined);
  }

  /** A transmission failed temporarily: count it and hold the item until `markReady`. */
  markRetrying(clientMsgId: string): OutboxItem | undefined {
    const item = this.items.get(clientMsgId);
    if (!item) return undefined;
    this.setRef(item, undefined);
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
    this.transmitted = 0;
  }

  /** Removes an item (acked or finally rejected) and returns it. */
  settle(clientMsgId: string): OutboxItem | undefined {
    const item = this.items.get(clientMsgId);
    if (item) {
      if (item.ref !== undefined) this.transmitted--; // the item keeps its ref for the caller
      this.items.delete(clientMsgId);
    }
    return item;
  }

  /** Removes and returns everything (e.g. on a permanent close). */
  drain(): OutboxItem[] {
    const all = [...this.items.values()];
    this.items.clear();
    this.transmitted = 0;
    return all;
  }

  /** Changes an item's transmission, keeping the in-flight count. */
  private setRef(item: OutboxItem, ref: string | undefined): void {
    this.transmitted += (ref !== undefined ? 1 : 0) - (item.ref !== undefined ? 1 : 0);
    item.ref = ref;
  }
}
