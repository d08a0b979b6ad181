import WebSocket from 'ws';
import { ChatClient, type ChatClientOptions } from '@chat/shared';
import { recordingWebSocket, type DeviceLog, type History } from '../../../../shared/test/support/history-checker.js';
import { waitFor, type TestSystem } from '../../support/system.js';

/** What fault tests need of a running system: tokens and the REST API (TestSystem has both). */
export type RestSystem = Pick<TestSystem, 'token' | 'rest'>;

const WsImpl = WebSocket as unknown as NonNullable<ChatClientOptions['WebSocketImpl']>;

/** Client settings for fault tests: quick reconnects and retries, and sends kept until acked. */
export const FAULT_CLIENT_OPTIONS: Partial<ChatClientOptions> = {
  reconnectBaseMs: 50,
  reconnectCapMs: 1_000,
  retryBaseMs: 50,
  retryCapMs: 1_000,
  ackTimeoutMs: 3_000,
  requestTimeoutMs: 5_000,
  connectTimeoutMs: 5_000,
  maxSendAttempts: 1_000,
  maxRequestAttempts: 1_000,
  maxGapFillAttempts: 1_000,
};

export const uid = (name: string): string => `${name}-${Math.random().toString(36).slice(2, 8)}`;

/** Creates a group conversation of `members` (the first creates it) and returns its id. */
export async function createGroup(sys: RestSystem, members: readonly string[], title = 'faults'): Promise<string> {
  const res = await sys.rest<{ conversation: { conversation_id: string } }>(members[0]!, 'POST', '/v1/conversations', { kind: 'group', title, member_ids: members });
  if (res.status !== 201 && res.status !== 200) throw new Error(`creating the group failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.conversation.conversation_id;
}

export interface Device {
  userId: string;
  client: ChatClient;
  log: DeviceLog;
}

/**
 * A real SDK client for `userId` whose shown and raw messages are recorded in `history`; it follows
 * `conversations` from seq 0 (must show every stored message). With several URLs each reconnect
 * moves to the next one.
 */
export function openDevice(sys: RestSystem, history: History, userId: string, urls: readonly string[], conversations: readonly string[], options: Partial<ChatClientOptions> = {}): Device {
  const log = history.device(userId);
  const client = new ChatClient({
    ...FAULT_CLIENT_OPTIONS,
    ...options,
    url: urls,
    getToken: () => sys.token(userId, 3600),
    WebSocketImpl: recordingWebSocket(WsImpl, (text) => log.rawFrame(text)),
  });
  log.attach(client);
  for (const c of conversations) {
    log.follow(c);
    client.track(c, 0);
  }
  return { userId, client, log };
}

export interface TrafficOptions {
  /** Time between two sends of one sender. @default 100 */
  intervalMs?: number;
  /** Unacked sends one sender may have at once; it skips a tick when at the limit. @default 20 */
  maxInFlight?: number;
  /** Sends per sender at most (the loop is bounded even if stop() is never called). @default 2_000 */
  maxPerSender?: number;
}

/**
 * Every sender sends to `conversationId` every `intervalMs` (unique client_msg_ids, bodies naming
 * them), all recorded in `history`. Bounded in count; stop() ends it and waits for the answers.
 */
export class Traffic {
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly pending = new Set<Promise<unknown>>();
  private readonly inFlight = new Map<string, number>();
  /** Per sending device: times of acks received, in order. */
  readonly ackTimes = new Map<Device, number[]>();
  sent = 0;
  private stopped = false;

  constructor(
    private readonly history: History,
    private readonly senders: readonly Device[],
    private readonly conversationId: string,
    private readonly options: TrafficOptions = {},
  ) {}

  start(): this {
    const { intervalMs = 100, maxInFlight = 20, maxPerSender = 2_000 } = this.options;
    this.senders.forEach((s, i) => {
      let n = 0;
      const key = `${s.userId}#${i}`;
      const acks: number[] = [];
      this.ackTimes.set(s, acks);
      const tick = () => {
        if (n >= maxPerSender) return;
        if ((this.inFlight.get(key) ?? 0) >= maxInFlight) return;
        const cmid = `${key.replace(/[^A-Za-z0-9._:-]/g, '_')}-${n++}`;
        this.inFlight.set(key, (this.inFlight.get(key) ?? 0) + 1);
        this.sent++;
        const p = this.history.send(s.client, s.userId, this.conversationId, `body ${cmid}`, cmid).then((r) => {
          this.inFlight.set(key, (this.inFlight.get(key) ?? 1) - 1);
          if (r.outcome === 'ok') acks.push(r.endedAt ?? Date.now());
        });
        this.pending.add(p);
        void p.finally(() => this.pending.delete(p));
      };
      // Senders start spread over one interval so the load is even.
      const first = setTimeout(() => {
        if (this.stopped) return;
        tick();
        this.timers.push(setInterval(tick, intervalMs));
      }, Math.floor((intervalMs * i) / Math.max(1, this.senders.length)));
      this.timers.push(first);
    });
    return this;
  }

  /** Stops sending; waits up to `timeoutMs` for the sends still unanswered (those left count as indeterminate). */
  async stop(timeoutMs = 60_000): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.length = 0;
    await Promise.race([Promise.allSettled([...this.pending]), new Promise((r) => setTimeout(r, timeoutMs).unref())]);
  }

  /** Whether every sending device (or those in `only`) had a send acked at or after `since`. */
  allAckedSince(since: number, only?: readonly Device[]): boolean {
    return [...this.ackTimes].every(([device, times]) => (only && !only.includes(device)) || times.some((t) => t >= since));
  }

  /**
   * Waits until every sending device (or those in `only`) had a send acked after `since`; returns the
   * time that took from `since` (the recovery time) in ms.
   */
  async recovered(since: number, timeoutMs: number, only?: readonly Device[]): Promise<number> {
    await waitFor(() => this.allAckedSince(since, only), timeoutMs, 'every sender to have a send acked again');
    let latest = since;
    for (const [device, times] of this.ackTimes) {
      if (only && !only.includes(device)) continue;
      latest = Math.max(latest, times.find((t) => t >= since) ?? since);
    }
    return latest - since;
  }
}

/** Prints a measured recovery time on one line (collected into docs/OPERATIONS.md). */
export function reportRecovery(test: string, what: string, ms: number): void {
  console.log(`recovery[${test}]: ${what} ${(ms / 1000).toFixed(2)} s`);
}
