import { ChatError, Errors } from '@chat/protocol';
import { clientPresenceState, MAX_QUERY_BATCH_USERS, type PresenceQueryRequest, type PresenceQueryResponse, type PresenceState } from '@chat/protocol/internal';

export interface QueryCoalescerOptions {
  /** Batches out at once (to one instance): the fewer, the more each carries under load. @default 2 */
  maxInFlight?: number;
  /** A query still queued this long after it was asked is refused with UNAVAILABLE, never sent. @default 5000 */
  queueTimeoutMs?: number;
}

/** Sends one batch of query checks. */
export type QueryBatch = (request: PresenceQueryRequest) => Promise<PresenceQueryResponse>;

interface Waiting {
  check: PresenceQueryRequest['checks'][number];
  queuedAt: number;
  resolve: (states: PresenceState[]) => void;
  reject: (err: unknown) => void;
}

/**
 * Coalesces the presence queries of all sockets into batch requests to one presence-service
 * instance: what arrives in one event-loop turn, or while `maxInFlight` batches are out, goes in
 * the next batch (at most MAX_QUERY_BATCH_USERS ids). Idle queries leave at once (no timer); when
 * a group's members subscribe together, one request carries many of them and their common users'
 * states are read and sent once. Each caller gets the states it may see, or the batch's error.
 */
export class QueryCoalescer {
  private queue: Waiting[] = [];
  private inFlight = 0;
  private scheduled = false;
  private readonly o: Required<QueryCoalescerOptions>;

  constructor(
    private readonly sendBatch: QueryBatch,
    options: QueryCoalescerOptions = {},
  ) {
    this.o = { maxInFlight: 2, queueTimeoutMs: 5000, ...options };
  }

  /** States of those of `userIds` that `userId` may see. */
  query(userId: string, userIds: readonly string[]): Promise<PresenceState[]> {
    return new Promise((resolve, reject) => {
      this.queue.push({ check: { user_id: userId, user_ids: [...userIds] }, queuedAt: Date.now(), resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight >= this.o.maxInFlight || this.queue.length === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  /** The oldest queries that fit one request (always at least one); those queued too long are refused. */
  private take(): Waiting[] {
    const stale = Date.now() - this.o.queueTimeoutMs;
    const batch: Waiting[] = [];
    let ids = 0;
    while (this.queue.length > 0) {
      const w = this.queue[0]!;
      if (w.queuedAt < stale) {
        this.queue.shift();
        w.reject(new ChatError(Errors.UNAVAILABLE, 'presence-service is busy; retry later'));
        continue;
      }
      if (batch.length > 0 && ids + w.check.user_ids.length > MAX_QUERY_BATCH_USERS) break;
      this.queue.shift();
      batch.push(w);
      ids += w.check.user_ids.length;
    }
    return batch;
  }

  private async flush(): Promise<void> {
    const batch = this.take();
    if (batch.length === 0) return;
    this.inFlight++;
    this.schedule(); // more than one batch's worth waiting: start the next one too
    try {
      const res = await this.sendBatch({ checks: batch.map((w) => w.check) });
      const states = statesByCheck(res, batch.length);
      batch.forEach((w, i) => w.resolve(states[i]!));
    } catch (err) {
      for (const w of batch) w.reject(err);
    } finally {
      this.inFlight--;
      this.schedule();
    }
  }
}

/**
 * Each check's states from a batch reply; an ill-formed reply is an INTERNAL error for all. Each
 * distinct state is validated and copied once (only the fields a client may see), and the checks
 * share those objects: a group's subscribes of one batch cost one object per member, not per pair.
 */
export function statesByCheck(res: Partial<PresenceQueryResponse>, checks: number): PresenceState[][] {
  const { users, allowed } = res;
  const valid =
    Array.isArray(users) &&
    Array.isArray(allowed) &&
    allowed.length === checks &&
    allowed.every((list) => Array.isArray(list) && list.every((i) => Number.isInteger(i) && i >= 0 && i < users.length));
  if (!valid) throw new ChatError(Errors.INTERNAL, 'presence-service sent an invalid reply');
  const states = users.map(clientState);
  return allowed.map((list) => list.map((i) => states[i]!));
}

/** A state as a client gets it (last_seen only when offline and known); INTERNAL when it is not one. */
function clientState(s: unknown): PresenceState {
  const v = s as Partial<PresenceState> | null;
  if (typeof v !== 'object' || v === null || typeof v.user_id !== 'string' || typeof v.online !== 'boolean') {
    throw new ChatError(Errors.INTERNAL, 'presence-service sent an invalid state');
  }
  return clientPresenceState(v.user_id, v.online, typeof v.last_seen === 'number' && Number.isFinite(v.last_seen) ? v.last_seen : undefined);
}
