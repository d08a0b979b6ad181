import type { ClientFrame, ServerFrame } from '@chat/protocol';
import { ChatConnectionError, ChatTimeoutError } from './errors.js';
import type { Timers } from './timers.js';

/** A client frame that carries a ref (every request type). */
export type RequestFrame = Extract<ClientFrame, { ref: string }>;

export interface TrackOptions {
  timeoutMs: number;
  /** Re-send after a reconnect (idempotent reads such as history/ping); otherwise reject on disconnect. */
  resendOnReconnect: boolean;
}

interface Pending {
  frame: RequestFrame;
  resolve: (frame: ServerFrame) => void;
  reject: (err: Error) => void;
  timer: unknown;
  sent: boolean;
  resendOnReconnect: boolean;
}

/**
 * Correlates requests with replies by `ref` and enforces timeouts (no I/O: the caller transmits the
 * frames it gets from `unsent()` and reports that with `markSent`).
 */
export class RequestTracker {
  private readonly pending = new Map<string, Pending>();
  private counter = 0;

  constructor(
    private readonly timers: Timers,
    private readonly prefix = 'c',
  ) {}

  get size(): number {
    return this.pending.size;
  }

  /** A ref unique within this client (<= 64 chars). */
  nextRef(): string {
    this.counter++;
    return `${this.prefix}${this.counter.toString(36)}`;
  }

  has(ref: string): boolean {
    return this.pending.has(ref);
  }

  /** Registers a request; the promise settles with the reply, an error, a timeout or a disconnect. */
  track(frame: RequestFrame, options: TrackOptions): Promise<ServerFrame> {
    return new Promise<ServerFrame>((resolve, reject) => {
      const ref = frame.ref;
      const timer = this.timers.setTimeout(() => {
        if (this.pending.delete(ref)) reject(new ChatTimeoutError(frame.type, options.timeoutMs));
      }, options.timeoutMs);
      this.pending.set(ref, { frame, resolve, reject, timer, sent: false, resendOnReconnect: options.resendOnReconnect });
    });
  }

  /** Requests not yet transmitted on the current connection, in registration order. */
  unsent(): RequestFrame[] {
    return [...this.pending.values()].filter((p) => !p.sent).map((p) => p.frame);
  }

  markSent(ref: string): void {
    const p = this.pending.get(ref);
    if (p) p.sent = true;
  }

  /** Resolves the request with this ref; false when the ref is unknown (late or foreign reply). */
  resolve(ref: string, reply: ServerFrame): boolean {
    const p = this.take(ref);
    if (!p) return false;
    p.resolve(reply);
    return true;
  }

  reject(ref: string, err: Error): boolean {
    const p = this.take(ref);
    if (!p) return false;
    p.reject(err);
    return true;
  }

  /** The connection dropped: requests marked resendOnReconnect become unsent again; the rest reject. */
  connectionLost(err: Error = new ChatConnectionError('connection lost')): void {
    for (const [ref, p] of [...this.pending]) {
      if (!p.sent) continue;
      if (p.resendOnReconnect) {
        p.sent = false;
      } else {
        this.take(ref);
        p.reject(err);
      }
    }
  }

  rejectAll(err: Error): void {
    for (const ref of [...this.pending.keys()]) this.reject(ref, err);
  }

  private take(ref: string): Pending | undefined {
    const p = this.pending.get(ref);
    if (!p) return undefined;
    this.pending.delete(ref);
    this.timers.clearTimeout(p.timer);
    return p;
  }
}
