import WebSocket from 'ws';
import { ChatClient, type ChatClientOptions } from '@chat/sdk';
import {
  cassandraMessageReader,
  checkHistory,
  History,
  recordingWebSocket,
  waitForZeroLag,
  type CheckResult,
  type DeviceLog,
} from '@chat/testing/history-checker';
import { waitFor, type TestSystem } from '../../support/system.js';

/** What fault tests need of a running system: tokens and the REST API (TestSystem has both). */
export type RestSystem = Pick<TestSystem, 'token' | 'rest'>;

const WsImpl = WebSocket as unknown as NonNullable<ChatClientOptions['WebSocketImpl']>;

/** Client settings for fault tests: quick reconnects and retries, and sends kept until acked. */
const FAULT_CLIENT_OPTIONS: Partial<ChatClientOptions> = {
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
  const res = await sys.rest<{ conversation: { conversation_id: string } }>(members[0]!, 'POST', '/v1/conversations', {
    kind: 'group',
    title,
    member_ids: members,
  });
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
 * moves to the next one. `options.WebSocketImpl` (default `ws`) is wrapped to record raw frames.
 */
export function openDevice(
  sys: RestSystem,
  history: History,
  userId: string,
  urls: readonly string[],
  conversations: readonly string[],
  options: Partial<ChatClientOptions> = {},
): Device {
  const log = history.device(userId);
  const client = new ChatClient({
    ...FAULT_CLIENT_OPTIONS,
    ...options,
    url: urls,
    getToken: () => sys.token(userId, 3600),
    WebSocketImpl: recordingWebSocket(options.WebSocketImpl ?? WsImpl, (text) => log.rawFrame(text)),
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
  /** Per sending device: its acked sends' start and ack times, in ack order. */
  readonly ackTimes = new Map<Device, { startedAt: number; ackedAt: number }[]>();
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
      const acks: { startedAt: number; ackedAt: number }[] = [];
      this.ackTimes.set(s, acks);
      const tick = () => {
        if (n >= maxPerSender) return;
        if ((this.inFlight.get(key) ?? 0) >= maxInFlight) return;
        const cmid = `${key.replace(/[^A-Za-z0-9._:-]/g, '_')}-${n++}`;
        this.inFlight.set(key, (this.inFlight.get(key) ?? 0) + 1);
        this.sent++;
        const p = this.history.send(s.client, s.userId, this.conversationId, `body ${cmid}`, cmid).then((r) => {
          this.inFlight.set(key, (this.inFlight.get(key) ?? 1) - 1);
          if (r.outcome === 'ok') acks.push({ startedAt: r.startedAt, ackedAt: r.endedAt ?? Date.now() });
        });
        this.pending.add(p);
        void p.finally(() => this.pending.delete(p));
      };
      // Senders start spread over one interval so the load is even.
      const first = setTimeout(
        () => {
          if (this.stopped) return;
          tick();
          this.timers.push(setInterval(tick, intervalMs));
        },
        Math.floor((intervalMs * i) / Math.max(1, this.senders.length)),
      );
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

  /** Whether every sending device (or those in `only`) had a send acked that it started at or after `since`. */
  allAckedSince(since: number, only?: readonly Device[]): boolean {
    return [...this.ackTimes].every(([device, acks]) => (only && !only.includes(device)) || acks.some((a) => a.startedAt >= since));
  }

  /**
   * Waits until every sending device (or those in `only`) had a send acked that it started after
   * `since`; returns the time from `since` to the last of those first acks (the recovery time) in ms.
   */
  async recovered(since: number, timeoutMs: number, only?: readonly Device[]): Promise<number> {
    await waitFor(() => this.allAckedSince(since, only), timeoutMs, 'every sender to have a send acked again');
    let latest = since;
    for (const [device, acks] of this.ackTimes) {
      if (only && !only.includes(device)) continue;
      latest = Math.max(latest, acks.find((a) => a.startedAt >= since)?.ackedAt ?? since);
    }
    return latest - since;
  }
}

/** Prints a measured recovery time on one line (collected into docs/OPERATIONS.md). */
export function reportRecovery(test: string, what: string, ms: number): void {
  console.log(`recovery[${test}]: ${what} ${(ms / 1000).toFixed(2)} s`);
}

export interface FaultRunOptions {
  /** Test name: the checker's and the recovery line's label. */
  name: string;
  /** Group members; each gets one device, spread over the gateways. @default 4 */
  users?: number;
  /** @default 100 */
  intervalMs?: number;
  /** Traffic before the fault. @default 1_500 */
  warmupMs?: number;
  /** Injects the fault and heals it; resolves with the time recovery is measured from. */
  fault: () => Promise<number>;
  /** @default 90_000 */
  recoveryTimeoutMs?: number;
  /** Traffic after every sender recovered. @default 1_000 */
  afterMs?: number;
  /** What the recovery line says was measured. @default 'every sender acked again after' */
  recoveryLabel?: string;
}

export interface FaultRun {
  history: History;
  conversationId: string;
  devices: Device[];
  recoveryMs: number;
  result: CheckResult;
}

/**
 * The common shape of an infrastructure fault test: a group of SDK clients spread over the system's
 * gateways sends continuously; the fault is injected and healed; once every sender had a send acked
 * again (the recovery time, printed), traffic stops, the sequencer's lag drains, and the history
 * checker reads storage and every device (printing its line). The caller closes `devices`.
 */
export async function faultRun(sys: TestSystem, o: FaultRunOptions): Promise<FaultRun> {
  const history = new History(o.name);
  const users = Array.from({ length: o.users ?? 4 }, (_, i) => uid(`u${i}`));
  const conversationId = await createGroup(sys, users);
  const urls = sys.gateways.map((g) => g.url);
  const devices = users.map((u, i) => openDevice(sys, history, u, [...urls.slice(i % urls.length), ...urls.slice(0, i % urls.length)], [conversationId]));
  await Promise.all(devices.map((d) => d.client.connect()));
  const traffic = new Traffic(history, devices, conversationId, { intervalMs: o.intervalMs ?? 100 }).start();
  let recoveryMs = -1;
  let healedAt = Date.now();
  const t: Record<string, number> = {};
  const mark = (phase: string, since: number) => (t[phase] = Date.now() - since);
  try {
    await sleep(o.warmupMs ?? 1_500);
    const faultAt = Date.now();
    healedAt = await o.fault();
    mark('fault', faultAt);
    recoveryMs = await traffic.recovered(healedAt, o.recoveryTimeoutMs ?? 90_000);
    reportRecovery(o.name, o.recoveryLabel ?? 'every sender acked again after', recoveryMs);
    await sleep(o.afterMs ?? 1_000);
  } finally {
    const stopAt = Date.now();
    await traffic.stop();
    mark('answers', stopAt);
  }
  const drainAt = Date.now();
  await waitForZeroLag(sys.kafka, sys.env.SEQUENCER_GROUP_ID!, sys.topic, 90_000);
  mark('lag', drainAt);
  reportRecovery(o.name, 'sequencer lag back to zero (traffic stopped 1 s after recovery) after', Date.now() - healedAt);
  const checkAt = Date.now();
  const result = await checkHistory(history, { readStored: cassandraMessageReader(sys.cassandra), conversations: [conversationId], settleMs: 30_000 });
  mark('check', checkAt);
  console.log(
    `phases[${o.name}]: ${Object.entries(t)
      .map(([k, v]) => `${k}=${(v / 1000).toFixed(1)}s`)
      .join(' ')}`,
  );
  return { history, conversationId, devices, recoveryMs, result };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
