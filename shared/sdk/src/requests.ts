import type { HistoryResultFrame, SendFrame, ServerFrame } from '@chat/protocol';
import { fullJitterDelay, type BackoffOptions } from './backoff.js';
import type { Connection } from './connection.js';
import { NORMAL_CLOSURE } from './connection.js';
import { ChatClosedError, ChatRequestError, retryDelay } from './errors.js';
import { validMessages } from './messages.js';
import type { RequestTracker, RequestFrame } from './request-tracker.js';
import type { Scheduler } from './scheduler.js';

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
/** A request frame without its ref (the client assigns one). Sends go through `send()`. */
export type RequestInput = DistributiveOmit<Exclude<RequestFrame, SendFrame>, 'ref'>;

export interface HistoryQuery {
  before?: number;
  after?: number;
  limit?: number;
}
export interface RequestOptions {
  /** @default options.requestTimeoutMs */
  timeoutMs?: number;
}

/** Options of "everything new": `largeFirstPage` asks for the first page of each large conversation's new messages (1 to LARGE_FIRST_PAGE_MAX). */
export interface EverythingNewOptions extends RequestOptions {
  largeFirstPage?: number;
}

export interface RequestsOptions {
  requestTimeoutMs: number;
  maxRequestAttempts: number;
  retryBackoff: BackoffOptions;
}

/** Requests with a ref: sent when connected, answered by ref, retried on temporary errors. */
export class Requests {
  constructor(
    readonly tracker: RequestTracker,
    private readonly connection: Connection,
    private readonly scheduler: Scheduler,
    private readonly o: RequestsOptions,
  ) {}

  /** Sends a request now when connected, else after the next `hello`; the reply with its ref settles it. */
  request(frame: RequestInput, options: RequestOptions & { resendOnReconnect?: boolean } = {}): Promise<ServerFrame> {
    if (this.connection.state === 'closed') return Promise.reject(new ChatClosedError(NORMAL_CLOSURE, 'client closed'));
    const full = { ...frame, ref: this.tracker.nextRef() } as RequestFrame;
    const p = this.tracker.track(full, {
      timeoutMs: options.timeoutMs ?? this.o.requestTimeoutMs,
      resendOnReconnect: options.resendOnReconnect ?? true,
    });
    if (this.connection.isReady() && this.connection.transmit(full)) this.tracker.markSent(full.ref);
    return p;
  }

  /** After `hello`: transmits the requests that waited for a connection (sends and syncs have their own paths). */
  transmitWaiting(): void {
    for (const f of this.tracker.unsent()) {
      if (f.type !== 'sync' && f.type !== 'send' && this.connection.transmit(f)) this.tracker.markSent(f.ref);
    }
  }

  /** Runs `fn` again after temporary (`retry: true`) refusals, up to maxRequestAttempts, with backoff. */
  async withRetry<T>(fn: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        if (!(err instanceof ChatRequestError) || !err.retry || attempt + 1 >= this.o.maxRequestAttempts) throw err;
        await this.scheduler.sleep(retryDelay(err, fullJitterDelay(attempt, this.o.retryBackoff)));
        if (this.connection.state === 'closed') throw new ChatClosedError(NORMAL_CLOSURE, 'client closed');
      }
    }
  }

  /** One history request; only valid messages are kept. */
  async historyOnce(conversationId: string, query: HistoryQuery, resendOnReconnect: boolean, timeoutMs?: number): Promise<HistoryResultFrame> {
    const reply = await this.request(
      {
        type: 'history',
        conversation_id: conversationId,
        ...(query.before !== undefined ? { before: query.before } : {}),
        ...(query.after !== undefined ? { after: query.after } : {}),
        ...(query.limit !== undefined ? { limit: query.limit } : {}),
      },
      { resendOnReconnect, ...(timeoutMs !== undefined ? { timeoutMs } : {}) },
    );
    if (reply.type !== 'history.result') throw new Error(`unexpected reply ${reply.type} to history`);
    return { ...reply, messages: validMessages(reply.messages) };
  }
}
