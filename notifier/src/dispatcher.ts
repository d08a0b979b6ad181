import { randomUUID } from 'node:crypto';
import type { Messaging, TokenMessage } from 'firebase-admin/messaging';
import type { ChainableCommander } from 'ioredis';
import type { Producer } from 'kafkajs';
import { mapLimit } from '@chat/server/collections';
import type { Logger } from '@chat/server/logger';
import type { SessionRegistry } from '@chat/server/routing';
import { classifyFailure, retryDelayMs } from './fcm/outcome.js';
import { sendAll, type SendResult } from './fcm/push-sender.js';
import type { NotifierMetrics, SuppressReason } from './metrics.js';
import { pushFor } from './push-content.js';
import type { DeviceDirectory, PushDevice } from './recipients/devices.js';
import type { ConversationDirectory } from './recipients/members.js';
import type { RecipientState, RecipientStateLookup } from './recipients/recipient-state.js';
import type { RetryJob, RetryQueue } from './state/retry-queue.js';
import { execAll, type WindowSnapshot, type WindowStore } from './state/window-store.js';

export interface DispatcherOptions {
  dlqTopic: string;
  maxAttempts: number;
  retryBaseMs: number;
  retryMaxMs: number;
  /**
   * A claimed window or retry not settled within this long is claimed again (its notifier died).
   * Must exceed the longest a push can take: firebase-admin waits 15 s per request and repeats a
   * timed-out, reset or 503 request up to 4 times, about 85 s in all.
   */
  leaseMs: number;
  /** Most windows plus retries claimed and not yet settled at once (a claim takes only what fits). */
  maxInFlight: number;
  tickMs: number;
  /** Windows (or retries) of one claim whose pushes are sent at once. */
  concurrency: number;
  /** How long a device that is online gets to read a window's messages before they are pushed. */
  onlineGraceMs: number;
  /** Windows whose recipients' state could not be read are decided again after this long. */
  stateRetryMs: number;
}

export interface DispatcherDeps {
  windows: WindowStore;
  retries: RetryQueue;
  conversations: ConversationDirectory;
  devices: DeviceDirectory;
  state: RecipientStateLookup;
  registry: SessionRegistry;
  messaging: Messaging;
  retryAfterMs: () => number;
  dlq: Producer;
  metrics: NotifierMetrics;
  log: Logger;
}

interface Outgoing {
  userId: string;
  conversationId: string;
  device: PushDevice;
  message: TokenMessage;
  attempts: number;
  jobId?: string;
}

type Decision = { kind: 'suppress'; reason: SuppressReason } | { kind: 'defer'; until: number } | { kind: 'push'; outgoing: Outgoing[] };

/**
 * Sends the pushes of due collapse windows and due retries, on its own timer: the chat path never
 * waits for it. A window is decided when it is due (see `decide`); each window is sent with its
 * own sendEach call (the user's devices) and settled in Redis as soon as FCM answered, so a
 * notifier that dies sends again only the pushes that were in flight.
 */
export class Dispatcher {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  /** Claimed windows and retries not settled yet, and the tasks settling them. */
  private inFlight = 0;
  private readonly tasks = new Set<Promise<void>>();

  constructor(
    private readonly deps: DispatcherDeps,
    private readonly options: DispatcherOptions,
  ) {}

  start(): void {
    const loop = async () => {
      try {
        await this.round();
      } catch (err) {
        this.deps.log.warn({ err }, 'dispatch round failed; retrying');
      }
      if (this.timer !== null) this.timer = setTimeout(() => (this.running = loop()), this.options.tickMs);
    };
    this.timer = setTimeout(() => (this.running = loop()), 0);
  }

  /**
   * Stops claiming and waits up to `drainMs` for pushes in flight. Claims still unsettled then (FCM
   * holding requests) are taken again after their lease by any notifier, as after a crash.
   */
  async stop(drainMs = 10_000): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
    let timeout: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled([...this.tasks]), new Promise<void>((resolve) => (timeout = setTimeout(resolve, drainMs)))]);
    clearTimeout(timeout);
  }

  /**
   * One round: claims due windows and retries, as many as fit under `maxInFlight`, and starts
   * settling them without waiting: a push FCM holds for long (a hanging request, firebase-admin's
   * own retries) keeps its slot only, and the next rounds go on with other windows.
   */
  private async round(): Promise<void> {
    const now = Date.now();
    const free = this.options.maxInFlight - this.inFlight;
    const windows = free > 0 ? await this.deps.windows.claimDue(now, now + this.options.leaseMs, free) : [];
    const room = free - windows.length;
    const retries = room > 0 ? await this.deps.retries.claimDue(now, now + this.options.leaseMs, room) : [];
    this.track(windows.length, () => this.dispatchWindows(windows));
    this.track(retries.length, () => mapLimit(retries, this.options.concurrency, (r) => this.retry(r.raw, r.job)).then(() => undefined));
    this.deps.metrics.retryQueueDepth.set(await this.deps.retries.depth());
  }

  private track(count: number, work: () => Promise<void>): void {
    if (count === 0) return;
    this.inFlight += count;
    const task = work()
      .catch((err: unknown) => this.deps.log.warn({ err }, 'dispatch failed; the claimed windows are retried after their lease'))
      .finally(() => {
        this.inFlight -= count;
        this.tasks.delete(task);
      });
    this.tasks.add(task);
  }

  private async dispatchWindows(windows: WindowSnapshot[]): Promise<void> {
    const open = windows.filter((w) => w.count > 0);
    for (const w of windows) if (w.count === 0) await this.deps.windows.complete(w, 0, Date.now());
    if (open.length === 0) return;
    let states: RecipientState[];
    try {
      states = await this.deps.state.states(open);
    } catch (err) {
      // Never push blind (the user may have read or muted): decide these windows a little later.
      this.deps.log.warn({ err, windows: open.length }, 'recipient state unavailable; windows deferred');
      await this.deps.windows.defer(open, Date.now() + this.options.stateRetryMs);
      return;
    }
    await mapLimit(open, this.options.concurrency, (w, i) => this.dispatchWindow(w, states[i]!));
  }

  private async dispatchWindow(w: WindowSnapshot, state: RecipientState): Promise<void> {
    const decision = await this.decide(w, state);
    if (decision.kind === 'defer') {
      this.deps.metrics.deferred.inc();
      await this.deps.windows.defer([w], decision.until);
      return;
    }
    const tx = this.deps.windows.transaction();
    let sent = 0;
    if (decision.kind === 'push') {
      const results = await sendAll(
        this.deps.messaging,
        decision.outgoing.map((o) => o.message),
      );
      for (const [i, o] of decision.outgoing.entries()) if (await this.settle(o, results[i] ?? { ok: false }, tx)) sent++;
      this.deps.metrics.collapsed.inc(w.count - 1);
    }
    this.deps.windows.completeIn(tx, w, w.count, Date.now());
    await execAll(tx);
    // Counted once settled: `sent` never runs ahead of what a restarted notifier knows was sent.
    if (decision.kind === 'suppress') this.deps.metrics.suppressed.inc({ reason: decision.reason });
    this.deps.metrics.sent.inc(sent);
  }

  /**
   * No push when the user left the conversation, muted it, has read past the window's last seq on
   * any device, or has no push device. A device that is online got the messages in real time: it
   * gets `onlineGraceMs` from the window's first message to read them; after that the push goes
   * out (unread messages on an idle tab or a phone in a pocket still notify).
   */
  private async decide(w: WindowSnapshot, state: RecipientState): Promise<Decision> {
    if (!state.member) return { kind: 'suppress', reason: 'not_member' };
    if (state.muted) return { kind: 'suppress', reason: 'muted' };
    if (state.readSeq >= w.lastSeq) return { kind: 'suppress', reason: 'read' };
    const graceEnds = w.firstAt + this.options.onlineGraceMs;
    if (Date.now() < graceEnds && (await this.deps.registry.gatewaysFor([w.userId])).size > 0) return { kind: 'defer', until: graceEnds };
    const devices = await this.deps.devices.of(w.userId);
    if (devices.length === 0) return { kind: 'suppress', reason: 'no_device' };
    const { title } = await this.deps.conversations.get(w.conversationId);
    // The total is read after the window's messages were stored, so it counts them; a lagging read
    // never shows fewer than this push announces.
    const badge = Math.max(state.totalUnread, Math.min(w.count, w.lastSeq - state.readSeq));
    return {
      kind: 'push',
      outgoing: devices.map((device) => ({
        userId: w.userId,
        conversationId: w.conversationId,
        device,
        message: pushFor(device, { window: w, title, badge }),
        attempts: 0,
      })),
    };
  }

  private async retry(claimed: string, job: RetryJob): Promise<void> {
    const o: Outgoing = {
      userId: job.userId,
      conversationId: job.conversationId,
      device: { deviceId: job.deviceId, token: job.message.token, platform: 'android' },
      message: job.message,
      attempts: job.attempts,
      jobId: job.id,
    };
    const [result] = await sendAll(this.deps.messaging, [o.message]);
    const tx = this.deps.windows.transaction();
    this.deps.retries.doneIn(tx, claimed);
    const sent = await this.settle(o, result ?? { ok: false }, tx);
    await execAll(tx);
    if (sent) this.deps.metrics.sent.inc();
  }

  /** Records one push's outcome; a retry is queued in `tx`. True when FCM accepted it. */
  private async settle(o: Outgoing, r: SendResult, tx: ChainableCommander): Promise<boolean> {
    const attempts = o.attempts + 1;
    if (r.ok) return true;
    const kind = classifyFailure(r.code);
    this.deps.metrics.failed.inc({ outcome: kind });
    if (kind === 'prune') {
      await this.deps.devices.prune(o.userId, o.device);
      this.deps.metrics.pruned.inc();
      this.deps.log.info({ user: o.userId, device: o.device.deviceId, code: r.code }, 'device token pruned');
      return false;
    }
    if (kind === 'retry' && attempts < this.options.maxAttempts) {
      const job: RetryJob = {
        id: o.jobId ?? randomUUID(),
        userId: o.userId,
        conversationId: o.conversationId,
        deviceId: o.device.deviceId,
        message: o.message,
        attempts,
        lastError: r.code ?? 'unreachable',
      };
      this.deps.retries.scheduleIn(tx, job, Date.now() + retryDelayMs(attempts, this.options.retryBaseMs, this.options.retryMaxMs, this.deps.retryAfterMs()));
      return false;
    }
    await this.deadLetter(o, attempts, r.code ?? 'unreachable');
    return false;
  }

  /** The push as it would have gone out, without the token (the device id finds it). */
  private async deadLetter(o: Outgoing, attempts: number, lastError: string): Promise<void> {
    const { token: _token, ...message } = o.message;
    const value = JSON.stringify({
      v: 1,
      type: 'push_failed',
      user_id: o.userId,
      conversation_id: o.conversationId,
      device_id: o.device.deviceId,
      attempts,
      last_error: lastError,
      message,
    });
    await this.deps.dlq.send({ topic: this.options.dlqTopic, acks: -1, messages: [{ key: o.conversationId, value }] });
    this.deps.metrics.deadLettered.inc();
    this.deps.log.warn({ user: o.userId, device: o.device.deviceId, attempts, lastError }, 'push dead-lettered');
  }
}
