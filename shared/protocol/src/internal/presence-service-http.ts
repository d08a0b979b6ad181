/**
 * presence-service's internal HTTP API (JSON, keep-alive), called by gateways with header
 * `x-internal-token: <INTERNAL_API_TOKEN>`. Errors are `{ error: { code, name, message, retry } }`
 * with the registry's HTTP status.
 */
export const PRESENCE_PATHS = {
  report: '/internal/v1/presence/report',
  query: '/internal/v1/presence/query',
  authorize: '/internal/v1/presence/authorize',
  typing: '/internal/v1/typing',
} as const;

/**
 * One gateway's batched report. `online`: users with at least one socket on this gateway (a
 * heartbeat lists all of them; a connect lists the new ones). `offline`: users whose last socket
 * on this gateway closed. Sent per flush window and per heartbeat interval, never per connection.
 */
export interface PresenceReportRequest {
  gateway_id: string;
  online: string[];
  offline: string[];
}

/**
 * Presence for several subscribes at once (a gateway coalesces the presence.sub frames that arrive
 * together): each check asks for the states of `user_ids` as seen by `user_id`.
 */
export interface PresenceQueryRequest {
  checks: { user_id: string; user_ids: string[] }[];
}
export interface PresenceState {
  user_id: string;
  online: boolean;
  /** ms since the Unix epoch; only when offline and known. */
  last_seen?: number;
}

/** A state as a client is told it: `last_seen` only when offline and known. */
export function clientPresenceState(userId: string, online: boolean, lastSeen: number | undefined): PresenceState {
  return online || lastSeen === undefined ? { user_id: userId, online } : { user_id: userId, online: false, last_seen: lastSeen };
}
/**
 * `users`: the state of every user at least one check may see, each once (a group's members
 * subscribing together cost one state read per member, not one per watcher–member pair).
 * `allowed[i]`: indexes into `users` of the states `checks[i].user_id` may see (it shares a
 * conversation with them); users it may not see are in no list of its own.
 */
export interface PresenceQueryResponse {
  users: PresenceState[];
  allowed: number[][];
}

/**
 * Which watched users each watcher may still see (they share a conversation), for many watchers
 * in one request: membership only, no presence state is read.
 */
export interface PresenceAuthorizeRequest {
  checks: { user_id: string; user_ids: string[] }[];
}
/** `allowed[i]`: the subset of `checks[i].user_ids` that `checks[i].user_id` may see. */
export interface PresenceAuthorizeResponse {
  allowed: string[][];
}

export interface TypingRequest {
  user_id: string;
  conversation_id: string;
  state: 'start' | 'stop';
}
/** `relayed` false: dropped by the throttle or the typist cap (best effort, not an error). */
export interface TypingResponse {
  relayed: boolean;
}

/** Largest user list in one report request. */
export const MAX_USERS_PER_REQUEST = 5000;

/**
 * Largest user list of one query check: each named user may cost a membership read, so this
 * matches the 500 ids a client may name in one presence.sub frame.
 */
export const MAX_QUERY_USERS = 500;

/** Most user ids (all checks together) in one query request. */
export const MAX_QUERY_BATCH_USERS = 10_000;

/** Most user ids (all checks together) in one authorize request. */
export const MAX_AUTHORIZE_USERS = 5000;
