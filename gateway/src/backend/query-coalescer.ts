import { ChatError, Errors } from '@chat/protocol';
import { BatchQueue } from './batch-queue.js';
import { clientPresenceState, MAX_QUERY_BATCH_USERS, type PresenceQueryRequest, type PresenceQueryResponse, type PresenceState } from '@chat/protocol/internal';

export interface QueryCoalescerOptions {
  /** Batches out at once (to one instance): the fewer, the more each carries under load. @default 2 */
  maxInFlight?: number;
  /** A query still queued this long after it was asked is refused with UNAVAILABLE, never sent. @default 5000 */
  queueTimeoutMs?: number;
}

/** Sends one batch of query checks. */
export type QueryBatch = (request: PresenceQueryRequest) => Promise<PresenceQueryResponse>;

/**
 * Coalesces the presence queries of all sockets into batch requests to one presence-service
 * instance (a BatchQueue of at most MAX_QUERY_BATCH_USERS ids per request): when a group's members
 * subscribe together, one request carries many of them and their common users' states are read
 * and sent once. Each caller gets the states it may see, or the batch's error.
 */
export class QueryCoalescer {
  private readonly batches: BatchQueue<PresenceQueryRequest['checks'][number], PresenceState[]>;

  constructor(sendBatch: QueryBatch, options: QueryCoalescerOptions = {}) {
    this.batches = new BatchQueue(async (checks) => statesByCheck(await sendBatch({ checks }), checks.length), {
      maxInFlight: options.maxInFlight ?? 2,
      maxBatchWeight: MAX_QUERY_BATCH_USERS,
      weight: (check) => check.user_ids.length,
      queueTimeoutMs: options.queueTimeoutMs ?? 5000,
      service: 'presence-service',
    });
  }

  /** States of those of `userIds` that `userId` may see. */
  query(userId: string, userIds: readonly string[]): Promise<PresenceState[]> {
    return this.batches.submit({ user_id: userId, user_ids: [...userIds] });
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
