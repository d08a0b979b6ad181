import { ChatError, Errors } from '@chat/protocol';
import { MAX_SEND_BATCH, type InternalSendRequest, type InternalSendResponse, type InternalSendResult } from '@chat/protocol/internal';
import { envDefault } from '@chat/server/config';
import { batchItemResult } from './internal-http.js';

export interface SendCoalescerOptions {
  /** Batches out at once. @default 8 */
  maxInFlight?: number;
  /** Every send is answered within this long. @default SEND_DEADLINE_MS's default */
  deadlineMs?: number;
  /** Bytes of sends queued or in flight before new sends are refused. @default GATEWAY_SEND_QUEUE_MAX_BYTES's default */
  maxQueuedBytes?: number;
  /** Part of the deadline kept back for the reply's way back: chat-service gets the rest. @default 250 */
  returnMarginMs?: number;
}

/** Sends one batch; `budgetMs` is how long the caller still waits (chat-service answers within it). */
export type SendBatch = (requests: InternalSendRequest[], budgetMs: number) => Promise<InternalSendResult[]>;

interface Waiting {
  request: InternalSendRequest;
  bytes: number;
  deadline: number;
  queued: boolean;
  done: boolean;
  timer: NodeJS.Timeout;
  resolve: (res: InternalSendResponse) => void;
  reject: (err: unknown) => void;
}

function unavailable(why: string): ChatError {
  return new ChatError(Errors.UNAVAILABLE, `${why}; retry with the same client_msg_id`);
}

/** Memory a queued send holds, roughly: its strings plus object overhead. */
function sizeOf(r: InternalSendRequest): number {
  return Buffer.byteLength(r.body) + r.conversation_id.length + r.client_msg_id.length + r.user_id.length + (r.attachment_ids?.length ?? 0) * 24 + 128;
}

/**
 * Coalesces the sends of all sockets into batch requests to chat-service: what arrives in one
 * event-loop turn, or while `maxInFlight` batches are already out, goes in the next batch. Idle
 * sends leave at once (no timer); under load one HTTP request carries many sends. Each caller
 * gets its own result or its own ChatError.
 *
 * Bounds: every send settles within `deadlineMs` of `send()` (a send still queued then is never
 * sent to chat-service; one already sent is answered 4101 "retry with the same client_msg_id",
 * which the idempotent send path makes safe), and sends queued or in flight hold at most
 * `maxQueuedBytes`; beyond it a send is refused with 4101 at once.
 */
export class SendCoalescer {
  private queue: Waiting[] = [];
  private inFlight = 0;
  private bytes = 0;
  private scheduled = false;
  private readonly opts: Required<SendCoalescerOptions>;

  constructor(
    private readonly sendBatch: SendBatch,
    options: SendCoalescerOptions = {},
  ) {
    this.opts = {
      maxInFlight: 8,
      deadlineMs: envDefault('SEND_DEADLINE_MS'),
      maxQueuedBytes: envDefault('GATEWAY_SEND_QUEUE_MAX_BYTES'),
      returnMarginMs: 250,
      ...options,
    };
  }

  /** Bytes of sends queued or in flight (for tests and metrics). */
  get pendingBytes(): number {
    return this.bytes;
  }

  send(request: InternalSendRequest): Promise<InternalSendResponse> {
    return new Promise((resolve, reject) => {
      const bytes = sizeOf(request);
      if (this.bytes + bytes > this.opts.maxQueuedBytes) return reject(unavailable('gateway send queue full'));
      this.bytes += bytes;
      const w: Waiting = {
        request,
        bytes,
        deadline: Date.now() + this.opts.deadlineMs,
        queued: true,
        done: false,
        resolve,
        reject,
        timer: setTimeout(() => this.expire(w), this.opts.deadlineMs),
      };
      this.queue.push(w);
      this.schedule();
    });
  }

  private expire(w: Waiting): void {
    if (w.queued) {
      const i = this.queue.indexOf(w);
      if (i >= 0) this.queue.splice(i, 1);
      this.settle(w, unavailable('chat-service is busy or unavailable; the message was not sent'));
    } else {
      this.settle(w, unavailable('chat-service did not answer in time'));
    }
  }

  private settle(w: Waiting, err: unknown, ok?: InternalSendResponse): void {
    if (w.done) return;
    w.done = true;
    clearTimeout(w.timer);
    this.bytes -= w.bytes;
    if (ok) w.resolve(ok);
    else w.reject(err);
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight >= this.opts.maxInFlight || this.queue.length === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  private async flush(): Promise<void> {
    const batch = this.queue.splice(0, MAX_SEND_BATCH);
    if (batch.length === 0) return;
    for (const w of batch) w.queued = false;
    this.inFlight++;
    this.schedule(); // more than one batch's worth waiting: start the next one too
    const budgetMs = Math.max(0, Math.min(...batch.map((w) => w.deadline)) - Date.now() - this.opts.returnMarginMs);
    try {
      const results = await this.sendBatch(
        batch.map((w) => w.request),
        budgetMs,
      );
      batch.forEach((w, i) => {
        const r = batchItemResult(results[i], 'chat-service');
        if (r instanceof ChatError) this.settle(w, r);
        else this.settle(w, undefined, r);
      });
    } catch (err) {
      for (const w of batch) this.settle(w, err);
    } finally {
      this.inFlight--;
      this.schedule();
    }
  }
}
