/** Messages between the `presence` scenario and its load workers (presence-worker.ts), over the fork IPC channel. */

export interface PresenceClientSpec {
  userId: string;
  url: string;
  /** Users this client subscribes to (its group mates). */
  watch: string[];
}

/** One planned disconnect: the client closes at `dropAt` (ms since the epoch) and reconnects at `reconnectAt` (null: stays away). */
export interface PlannedDrop {
  userId: string;
  dropAt: number;
  reconnectAt: number | null;
}

export type PresenceWorkerRequest = { id: number } & (
  | { type: 'init'; clients: PresenceClientSpec[]; graceMs: number }
  | { type: 'connect'; ratePerSec: number; timeoutMs: number }
  | { type: 'subscribe'; ratePerSec: number; timeoutMs: number }
  /** Runs this worker's part of `plan` (every worker gets all of it to tell which transition an event shows). */
  | { type: 'flap'; plan: PlannedDrop[] }
  | { type: 'connected' }
  | { type: 'check'; online: string[] }
);

export interface ConnectResult {
  connected: number;
  failed: number;
  reasons: Record<string, number>;
}

export interface SubscribeResult {
  /** Encoded histogram of subscribe round trips (frame sent → reply), ms. */
  hist: string;
  ok: number;
  failed: number;
  /** Failed subscribes by reason: the error frame's name, 'timeout' or 'closed'. */
  reasons: Record<string, number>;
}

export interface FlapResult {
  drops: number;
  reconnects: number;
  /** Reconnects that failed (never got `hello`) or whose subscribe failed. */
  failures: number;
  /** Subscribes after each reconnect. */
  resubscribeHist: string;
  /** Watchers' offline events, measured from the planned drop (includes the offline grace). */
  offlineHist: string;
  /** Watchers' online events, measured from the planned reconnect. */
  onlineHist: string;
  /** Events no planned long drop explains (e.g. a reconnect that took longer than the grace). */
  unexplained: number;
  /** Presence entries received by watchers during the flap (events, not replies). */
  entries: number;
}

export interface CheckResult {
  /** Watcher–user pairs compared. */
  pairs: number;
  /** Pairs where the watcher believes another state than the truth. */
  mismatches: number;
  /** Watchers not connected at check time (not compared). */
  absentWatchers: number;
}

export type PresenceWorkerReply = { id: number } & (
  | { type: 'init'; result: null }
  | { type: 'connect'; result: ConnectResult }
  | { type: 'subscribe'; result: SubscribeResult }
  | { type: 'flap'; result: FlapResult }
  | { type: 'connected'; result: string[] }
  | { type: 'check'; result: CheckResult }
  | { type: 'error'; message: string }
);
