import type { PresenceState } from '@chat/protocol/internal';

/**
 * Where presence lives. A user is online while any gateway reports it within the TTL.
 *
 * Contract:
 * - `heartbeat(gw, users)` marks each user present on `gw` until now + TTL. A user that was not
 *   online becomes online and exactly one online event is published (also after Redis lost its data:
 *   the next heartbeat rebuilds presence).
 * - `disconnect(gw, users)` removes `gw`'s claim. A user left with no live claim goes offline
 *   after the offline grace, unless a claim returns within it (then no event at all: a flapping
 *   connection is coalesced). last_seen is set to the disconnect time.
 * - `sweep(now)` publishes exactly one offline event per user whose claims all lapsed (a gateway
 *   that crashed) or whose grace ended; safe to run from several processes at once (atomic).
 *   Offline bound: TTL + sweep interval after the last heartbeat.
 * - Events are published on `presenceChannel(prefix, user)` at most once (Redis pub/sub).
 * - `query` is read-only and returns one state per user id, in the order given; a user in its
 *   grace or whose TTL lapsed but is not swept yet reads as online.
 */
export interface PresenceStore {
  heartbeat(gatewayId: string, userIds: readonly string[]): Promise<void>;
  disconnect(gatewayId: string, userIds: readonly string[]): Promise<void>;
  /** Examines up to `limit` due users; call again at once while `examined` equals `limit`. */
  sweep(limit?: number): Promise<SweepResult>;
  query(userIds: readonly string[]): Promise<PresenceState[]>;
}

export interface SweepResult {
  /** Due users looked at in this call. */
  examined: number;
  /** Of those, users that went offline (one event each). */
  offline: number;
}
