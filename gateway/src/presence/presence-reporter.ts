import type { Logger } from '@chat/server/logger';
import type { PresenceClient } from '../backend/presence-client.js';
import { inSlice, startSlicedInterval } from '../transport/sliced-interval.js';

export interface PresenceReporterOptions {
  gatewayId: string;
  /** Heartbeat: every local user is reported present this often (SESSION_REFRESH_SECONDS), a slice of them each second. */
  heartbeatMs: number;
  /** Connects/disconnects are batched this long before one report. @default 50 */
  batchMs?: number;
  /** Users per report request. @default 5000 */
  chunk?: number;
}

/**
 * Reports this gateway's users to presence-service: connects and disconnects batched per
 * `batchMs`, and a heartbeat that lists every local user once per `heartbeatMs`, a slice of them each
 * second (one report of every user at once stalled the gateway and presence-service) — per gateway,
 * never per connection. A failed report is retried with the next batch; the heartbeat rebuilds
 * presence after presence-service or Redis lost it. `isLocal(user)` is the source of truth at
 * send time, so a connect that closed again before the batch left is reported as a disconnect.
 */
export class PresenceReporter {
  private readonly online = new Set<string>();
  private readonly offline = new Set<string>();
  private batchTimer: NodeJS.Timeout | undefined;
  private stopHeartbeat: (() => void) | undefined;
  private sending: Promise<void> | undefined;
  private readonly batchMs: number;
  private readonly chunk: number;

  constructor(
    private readonly client: PresenceClient,
    private readonly localUsers: () => Iterable<string>,
    private readonly isLocal: (userId: string) => boolean,
    private readonly log: Logger,
    private readonly o: PresenceReporterOptions,
  ) {
    this.batchMs = o.batchMs ?? 50;
    this.chunk = o.chunk ?? 5000;
  }

  start(): void {
    this.stopHeartbeat = startSlicedInterval(this.o.heartbeatMs, (slice, slices) => {
      this.heartbeat(inSlice(this.localUsers(), (u) => u, slice, slices));
      return true;
    });
  }

  /** The user's first socket on this gateway opened. */
  connected(userId: string): void {
    this.offline.delete(userId);
    this.online.add(userId);
    this.schedule();
  }

  /** The user's last socket on this gateway closed. */
  disconnected(userId: string): void {
    this.online.delete(userId);
    this.offline.add(userId);
    this.schedule();
  }

  /** Stops the heartbeat and sends what is pending (best effort). */
  async stop(): Promise<void> {
    this.stopHeartbeat?.();
    clearTimeout(this.batchTimer);
    this.batchTimer = undefined;
    await this.sending;
    await this.flush();
  }

  private heartbeat(users: Iterable<string>): void {
    for (const u of users) if (!this.offline.has(u)) this.online.add(u);
    this.schedule(0);
  }

  private schedule(delay = this.batchMs): void {
    if (this.batchTimer) return;
    this.batchTimer = setTimeout(() => {
      this.batchTimer = undefined;
      if (this.sending) return this.schedule(); // one request at a time; coalesce meanwhile
      this.sending = this.flush().finally(() => {
        this.sending = undefined;
      });
    }, delay);
    this.batchTimer.unref();
  }

  private async flush(): Promise<void> {
    const online = [...this.online].filter((u) => this.isLocal(u));
    const offline = [...this.offline].filter((u) => !this.isLocal(u));
    this.online.clear();
    this.offline.clear();
    for (let i = 0; i < Math.max(online.length, offline.length); i += this.chunk) {
      const on = online.slice(i, i + this.chunk);
      const off = offline.slice(i, i + this.chunk);
      try {
        await this.client.report(this.o.gatewayId, on, off);
      } catch (err) {
        this.log.warn({ err, online: on.length, offline: off.length }, 'presence report failed; retrying');
        for (const u of online.slice(i)) if (!this.offline.has(u)) this.online.add(u);
        for (const u of offline.slice(i)) if (!this.online.has(u)) this.offline.add(u);
        clearTimeout(this.batchTimer);
        this.batchTimer = undefined;
        this.schedule(1000);
        return;
      }
    }
  }
}
