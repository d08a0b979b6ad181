import { randomUUID } from 'node:crypto';
import type { Messaging, TokenMessage } from 'firebase-admin/messaging';
import type { Producer } from 'kafkajs';
import type { Logger } from '@chat/server/logger';
import type { SessionRegistry } from '@chat/server/routing';
import { classifyFailure, retryDelayMs } from './fcm/outcome.js';
import { sendAll, type SendResult } from './fcm/push-sender.js';
import type { NotifierMetrics, SuppressReason } from './metrics.js';
import { pushFor } from './push-content.js';
import type { DeviceDirectory, PushDevice } from './recipients/devices.js';
import type { ConversationDirectory } from './recipients/members.js';
import type { RecipientStateLookup } from './recipients/recipient-state.js';
import type { RetryJob, RetryQueue } from './state/retry-queue.js';
import type { WindowSnapshot, WindowStore } from './state/window-store.js';

export interface DispatcherOptions {
  dlqTopic: string;
  maxAttempts: number;
  retryBaseMs: number;
  retryMaxMs: number;
  /** A claimed window or retry not settled within this long is claimed again (its notifier died). */
  leaseMs: number;
  /** Windows or retries claimed per round. */
  batch: number;
  tickMs: number;
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
  /** The claimed retry job this attempt settles, if it is a retry. */
  claimed?: string;
  jobId?: string;
}

/**
 * Sends the pushes of due collapse windows and due retries. Each window is decided when it is due:
 * no push when the user has a device online (it received the messages in real time), has read past
 * the window's last seq, muted the conversation, or has no device. Runs on its own timer and never
 * touches the chat path.
 */
export class Dispatcher {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;

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

  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  /** One round: every due window and retry (up to `batch` each). Exposed for tests and shutdown. */
  async round(): Promise<void> {
    const now = Date.now();
    const windows = await this.deps.windows.claimDue(now, now + this.options.leaseMs, this.options.batch);
    const retries = await this.deps.retries.claimDue(now, now + this.options.leaseMs, this.options.batch);
    const outgoing: Outgoing[] = [];
    const settled: WindowSnapshot[] = [];
    for (const w of windows) {
      if (w.count > 0) outgoing.push(...(await this.decide(w)));
      settled.push(w);
    }
    for (const { raw, job } of retries) {
      outgoing.push({ userId: job.userId, conversationId: job.conversationId, device: { deviceId: job.deviceId, token: job.message.token, platform: 'android' }, message: job.message, attempts: job.attempts, claimed: raw, jobId: job.id });
    }
    const results = outgoing.length > 0 ? await sendAll(this.deps.messaging, outgoing.map((o) => o.message)) : [];
    await Promise.all(outgoing.map((o, i) => this.settle(o, results[i] ?? { ok: false })));
    // Windows are settled after their pushes went out (or were queued for retry): a notifier that
    // dies in between leaves them claimed, and they are pushed again after the lease. The device
    // shows one notification anyway: the push replaces the previous one of the conversation.
    for (const w of settled) await this.deps.windows.complete(w, w.count, Date.now());
    this.deps.metrics.retryQueueDepth.set(await this.deps.retries.depth());
  }

  private suppress(reason: SuppressReason): Outgoing[] {
    this.deps.metrics.suppressed.inc({ reason });
    return [];
  }

  private async decide(w: WindowSnapshot): Promise<Outgoing[]> {
    const state = await this.deps.state.get(w.userId, w.conversationId, w.epoch);
    if (state.muted) return this.suppress('muted');
    if (state.readSeq >= w.lastSeq) return this.suppress('read');
    if ((await this.deps.registry.gatewaysFor([w.userId])).size > 0) return this.suppress('online');
    const devices = await this.deps.devices.of(w.userId);
    if (devices.length === 0) return this.suppress('no_device');
    const { title } = await this.deps.conversations.get(w.conversationId);
    this.deps.metrics.collapsed.inc(w.count - 1);
    const badge = state.totalUnread ?? w.count;
    return devices.map((device) => ({ userId: w.userId, conversationId: w.conversationId, device, message: pushFor(device, { window: w, title, badge }), attempts: 0 }));
  }

  private async settle(o: Outgoing, r: SendResult): Promise<void> {
    const attempts = o.attempts + 1;
    if (r.ok) {
      this.deps.metrics.sent.inc();
      if (o.claimed) await this.deps.retries.done(o.claimed);
      return;
    }
    const kind = classifyFailure(r.code);
    this.deps.metrics.failed.inc({ outcome: kind });
    if (kind === 'prune') {
      await this.deps.devices.prune(o.userId, o.device);
      this.deps.metrics.pruned.inc();
      this.deps.log.info({ user: o.userId, device: o.device.deviceId, code: r.code }, 'device token pruned');
      if (o.claimed) await this.deps.retries.done(o.claimed);
      return;
    }
    if (kind === 'retry' && attempts < this.options.maxAttempts) {
      const job: RetryJob = { id: o.jobId ?? randomUUID(), userId: o.userId, conversationId: o.conversationId, deviceId: o.device.deviceId, message: o.message, attempts, lastError: r.code ?? 'unreachable' };
      const dueAt = Date.now() + retryDelayMs(attempts, this.options.retryBaseMs, this.options.retryMaxMs, this.deps.retryAfterMs());
      if (o.claimed) await this.deps.retries.reschedule(o.claimed, job, dueAt);
      else await this.deps.retries.schedule(job, dueAt);
      return;
    }
    await this.deadLetter(o, attempts, r.code ?? 'unreachable');
    if (o.claimed) await this.deps.retries.done(o.claimed);
  }

  /** The push as it would have gone out, without the token (the device id finds it). */
  private async deadLetter(o: Outgoing, attempts: number, lastError: string): Promise<void> {
    const { token: _token, ...message } = o.message;
    const value = JSON.stringify({ v: 1, type: 'push_failed', user_id: o.userId, conversation_id: o.conversationId, device_id: o.device.deviceId, attempts, last_error: lastError, message });
    await this.deps.dlq.send({ topic: this.options.dlqTopic, acks: -1, messages: [{ key: o.conversationId, value }] });
    this.deps.metrics.deadLettered.inc();
    this.deps.log.warn({ user: o.userId, device: o.device.deviceId, attempts, lastError }, 'push dead-lettered');
  }
}
