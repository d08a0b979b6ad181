import { CloseCodes, Errors, type ErrorDef } from '../errors.js';
import type {
  AckFrame,
  ChatMessage,
  ClientFrame,
  ConversationSync,
  DigestFrame,
  HelloFrame,
  HistoryResultFrame,
  Position,
  ReconnectFrame,
  SendFrame,
  ServerFrame,
  SyncHintFrame,
  SyncResultFrame,
} from '../protocol/frames.js';
import { Backoff, DEFAULT_BACKOFF_BASE_MS, DEFAULT_BACKOFF_CAP_MS, fullJitterDelay, type BackoffOptions } from './backoff.js';
import { TypedEmitter } from './emitter.js';
import { ChatClosedError, ChatConnectionError, ChatGapError, ChatRequestError, ChatTimeoutError, retryDelay } from './errors.js';
import { generateClientMsgId, isValidClientMsgId } from './ids.js';
import { OrderedInbox, type InboxResult } from './ordered-inbox.js';
import { Outbox } from './outbox.js';
import { RequestTracker, type RequestFrame } from './request-tracker.js';
import { defaultTimers, type Timers } from './timers.js';
import { WS_OPEN, globalWebSocket, messageText, type WebSocketConstructor, type WebSocketLike } from './transport.js';

export interface ChatClientOptions {
  /** Gateway URL(s), e.g. `ws://127.0.0.1:8081/ws`. With several, each reconnect moves to the next one. */
  url: string | readonly string[];
  /** Returns the JWT; called on every (re)connect. Sent as subprotocols `['bearer', token]`. */
  getToken: () => string | Promise<string>;
  /** WebSocket implementation (browser API compatible, e.g. the `ws` package). @default globalThis.WebSocket */
  WebSocketImpl?: WebSocketConstructor;
  /** Positions to resume from (e.g. persisted `positions()` of an earlier session). @default [] */
  positions?: readonly Position[];
  /** First reconnect backoff window. @default 250 */
  reconnectBaseMs?: number;
  /** Largest reconnect backoff window. @default 10_000 */
  reconnectCapMs?: number;
  /** A connection that stays up this long after `hello` resets the backoff. @default 5_000 */
  stableAfterMs?: number;
  /** Consecutive failed reconnects before giving up. @default Infinity */
  maxReconnectAttempts?: number;
  /** Time from opening the socket until `hello` before the attempt is abandoned. @default 10_000 */
  connectTimeoutMs?: number;
  /** Timeout of history/ping/sync requests. @default 10_000 */
  requestTimeoutMs?: number;
  /** Time to wait for a send's ack before retransmitting it (same client_msg_id). @default 10_000 */
  ackTimeoutMs?: number;
  /** Transmissions of one send (timeouts and temporary errors; disconnects do not count). @default 5 */
  maxSendAttempts?: number;
  /** Attempts of a history/sync request on temporary (`retry: true`) errors. @default 4 */
  maxRequestAttempts?: number;
  /** Backoff window base for request/send retries. @default 250 */
  retryBaseMs?: number;
  /** Backoff window cap for request/send retries. @default 10_000 */
  retryCapMs?: number;
  /** Page size of history requests that fill a gap. @default 100 */
  gapFillPageSize?: number;
  /**
   * Answered history rounds without progress before a gap is skipped (reported as a ChatGapError). Timeouts and
   * temporary errors do not count: they are retried with backoff, since the missing seqs are probably stored. @default 8
   */
  maxGapFillAttempts?: number;
  /** Randomness in [0, 1) for jitter. @default Math.random */
  random?: () => number;
  /** Timer functions. @default the global setTimeout/clearTimeout/Date.now */
  timers?: Timers;
}

export type ConnectionState = 'idle' | 'connecting' | 'ready' | 'reconnecting' | 'closed';

export interface CloseInfo {
  code: number;
  reason: string;
  willReconnect: boolean;
  /** Delay before the next attempt when `willReconnect`. */
  reconnectInMs?: number;
}

export interface ResyncInfo {
  conversationId: string;
  reason: NonNullable<ConversationSync['reason']>;
  /** The server's current epoch for the conversation. */
  epoch: string;
  /** The server's last seq: the client resumes after it; reload older history via `history()`. */
  lastSeq: number;
}

export type ChatClientEvents = {
  /** A connection is ready (after `hello`); fires again after every reconnect. */
  open: (hello: HelloFrame) => void;
  close: (info: CloseInfo) => void;
  /** Each message exactly once per client instance, in seq order per conversation. */
  message: (msg: ChatMessage) => void;
  /** The client cannot resume a conversation gaplessly: reload it. */
  resync: (info: ResyncInfo) => void;
  error: (err: Error) => void;
  /** Server frames the client does not handle itself (typing, presence, receipt, future types). */
  frame: (frame: ServerFrame) => void;
};

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
export interface SendOptions {
  /** Reuse an id to make a retried send idempotent across client instances (G5). @default generated */
  clientMsgId?: string;
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve: (v: T) => void;
  reject: (e: Error) => void;
}
function deferred<T>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/**
 * Why positions are synced. `resume`: after (re)connecting or `track()`; more than RESUME_MAX_MESSAGES
 * behind is answered resync / too_far_behind and the client adopts the server's position (G4).
 * `catch-up`: on a live connection (`sync.hint`, `digest`, has_more rounds); too_far_behind in the
 * client's epoch is a gap, filled from history and never skipped (G2).
 */
type SyncKind = 'resume' | 'catch-up';

/** Close code reported for failures without a server close frame (token fetch, connect timeout). */
const ABNORMAL_CLOSURE = 1006;
const NORMAL_CLOSURE = 1000;
const MAX_SYNC_POSITIONS = 1000;
/** Longest delay a `sync.hint` may ask for. */
const MAX_HINT_DELAY_MS = 60_000;

function closeDef(code: number): ErrorDef | undefined {
  return (
    Object.values(CloseCodes).find((d: ErrorDef) => d.code === code) ??
    Object.values(Errors).find((d: ErrorDef) => d.code === code)
  );
}

/**
 * Protocol v1 client for browsers and Node: reconnects with full-jitter backoff, resumes with `sync`
 * (G4), resends unacked sends with the same client_msg_id (G5), and emits each message exactly once in
 * per-conversation seq order, filling gaps from history (G2, G3).
 */
export class ChatClient {
  private readonly emitter = new TypedEmitter<ChatClientEvents>((err, event) => {
    if (event === 'error') queueMicrotask(() => { throw err; });
    else this.emitError(err instanceof Error ? err : new Error(String(err)));
  });
  private readonly urls: readonly string[];
  private readonly WebSocketImpl: WebSocketConstructor;
  private readonly timers: Timers;
  private readonly backoff: Backoff;
  private readonly retryBackoff: BackoffOptions;
  private readonly inbox = new OrderedInbox();
  private readonly outbox = new Outbox();
  private readonly tracker: RequestTracker;
  private readonly sendWaiters = new Map<string, Deferred<AckFrame>>();
  private readonly connectWaiters: Deferred<HelloFrame>[] = [];
  private readonly filling = new Set<string>();
  private readonly scheduled = new Set<unknown>();
  private readonly o: Required<Omit<ChatClientOptions, 'url' | 'getToken' | 'WebSocketImpl' | 'positions' | 'timers'>>;

  private ws: WebSocketLike | undefined;
  /** Incremented on every connection change; async work from an older generation stops. */
  private gen = 0;
  private urlIndex = 0;
  private currentState: ConnectionState = 'idle';
  private currentHello: HelloFrame | undefined;
  private closedByUser = false;
  private reconnectTimer: unknown;
  private connectTimer: unknown;
  private stableTimer: unknown;
  private drainTimer: unknown;
  private drainDeadline: number | undefined;
  private tokenExpiredStreak = 0;
  private syncing = 0;

  constructor(private readonly options: ChatClientOptions) {
    this.urls = typeof options.url === 'string' ? [options.url] : [...options.url];
    if (this.urls.length === 0) throw new TypeError('ChatClient: at least one url is required');
    const impl = options.WebSocketImpl ?? globalWebSocket();
    if (!impl) throw new TypeError('ChatClient: no WebSocket implementation; pass options.WebSocketImpl');
    this.WebSocketImpl = impl;
    this.timers = options.timers ?? defaultTimers;
    this.o = {
      reconnectBaseMs: options.reconnectBaseMs ?? DEFAULT_BACKOFF_BASE_MS,
      reconnectCapMs: options.reconnectCapMs ?? DEFAULT_BACKOFF_CAP_MS,
      stableAfterMs: options.stableAfterMs ?? 5_000,
      maxReconnectAttempts: options.maxReconnectAttempts ?? Infinity,
      connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
      requestTimeoutMs: options.requestTimeoutMs ?? 10_000,
      ackTimeoutMs: options.ackTimeoutMs ?? 10_000,
      maxSendAttempts: options.maxSendAttempts ?? 5,
      maxRequestAttempts: options.maxRequestAttempts ?? 4,
      retryBaseMs: options.retryBaseMs ?? DEFAULT_BACKOFF_BASE_MS,
      retryCapMs: options.retryCapMs ?? DEFAULT_BACKOFF_CAP_MS,
      gapFillPageSize: options.gapFillPageSize ?? 100,
      maxGapFillAttempts: options.maxGapFillAttempts ?? 8,
      random: options.random ?? Math.random,
    };
    this.backoff = new Backoff({ baseMs: this.o.reconnectBaseMs, capMs: this.o.reconnectCapMs, random: this.o.random });
    this.retryBackoff = { baseMs: this.o.retryBaseMs, capMs: this.o.retryCapMs, random: this.o.random };
    this.tracker = new RequestTracker(this.timers);
    for (const p of options.positions ?? []) this.inbox.track(p.conversation_id, p.seq, p.epoch);
  }

  // ---------------------------------------------------------------- public API

  get state(): ConnectionState {
    return this.currentState;
  }

  /** The `hello` of the current connection, when ready. */
  get hello(): HelloFrame | undefined {
    return this.currentHello;
  }

  on<K extends keyof ChatClientEvents>(event: K, listener: ChatClientEvents[K]): () => void {
    return this.emitter.on(event, listener);
  }
  once<K extends keyof ChatClientEvents>(event: K, listener: ChatClientEvents[K]): () => void {
    return this.emitter.once(event, listener);
  }
  off<K extends keyof ChatClientEvents>(event: K, listener: ChatClientEvents[K]): void {
    this.emitter.off(event, listener);
  }

  /**
   * Starts connecting (idempotent). Resolves with the first `hello`; rejects if the client closes for good
   * first. Reconnects afterwards happen on their own.
   */
  connect(): Promise<HelloFrame> {
    if (this.currentState === 'closed') return Promise.reject(new ChatClosedError(NORMAL_CLOSURE, 'client closed'));
    if (this.currentState === 'ready' && this.currentHello) return Promise.resolve(this.currentHello);
    const d = deferred<HelloFrame>();
    this.connectWaiters.push(d);
    if (this.currentState === 'idle') void this.openSocket();
    return d.promise;
  }

  /** Closes for good: no reconnect; pending requests and unacked sends reject with ChatClosedError. */
  close(code = NORMAL_CLOSURE, reason = 'client closed'): void {
    if (this.currentState === 'closed') return;
    this.closedByUser = true;
    const ws = this.ws;
    this.detach();
    if (ws) {
      try {
        ws.close(code, reason);
      } catch {
        // already closing
      }
    }
    this.gen++;
    this.shutdown(code, reason);
    this.emitter.emit('close', { code, reason, willReconnect: false });
  }

  /**
   * Sends a message; resolves with its ack. The send is kept in an outbox until acked and retransmitted
   * with the same client_msg_id after reconnects, ack timeouts and temporary errors (the server dedups).
   * Rejects with ChatRequestError for permanent errors, after `maxSendAttempts`, or ChatClosedError.
   */
  send(conversationId: string, body: string, options: SendOptions = {}): Promise<AckFrame> {
    if (this.currentState === 'closed') return Promise.reject(new ChatClosedError(NORMAL_CLOSURE, 'client closed'));
    const clientMsgId = options.clientMsgId ?? generateClientMsgId();
    if (!isValidClientMsgId(clientMsgId)) {
      return Promise.reject(new TypeError('clientMsgId must match /^[A-Za-z0-9._:-]{1,64}$/'));
    }
    const existing = this.sendWaiters.get(clientMsgId);
    if (existing) return existing.promise;
    const d = deferred<AckFrame>();
    this.sendWaiters.set(clientMsgId, d);
    this.outbox.add(conversationId, body, clientMsgId);
    this.flushOutbox();
    return d.promise;
  }

  /** Unacked sends, oldest first (e.g. to show them as pending or persist them). */
  pendingSends(): { clientMsgId: string; conversationId: string; body: string }[] {
    return this.outbox.list().map((i) => ({ clientMsgId: i.clientMsgId, conversationId: i.conversationId, body: i.body }));
  }

  /** Stops retrying a send; its promise rejects. It may still have reached the server. */
  cancelSend(clientMsgId: string, reason = 'send cancelled'): boolean {
    return this.failSend(clientMsgId, new Error(reason));
  }

  /** One page of history (ascending seq). Temporary errors are retried; waits for a connection. */
  async history(conversationId: string, query: HistoryQuery = {}, options: RequestOptions = {}): Promise<HistoryResultFrame> {
    return this.withRetry(() => this.historyOnce(conversationId, query, true, options.timeoutMs));
  }

  /** Round-trip time in ms. */
  async ping(options: RequestOptions = {}): Promise<number> {
    const started = this.timers.now();
    await this.request({ type: 'ping' }, options);
    return this.timers.now() - started;
  }

  /**
   * Sends any request frame (typing with ref, read, presence.sub/unsub, …) and resolves with the reply
   * carrying the same ref; an `error` reply rejects with ChatRequestError. Waits for a connection and is
   * re-sent after a reconnect until the timeout.
   */
  request(frame: RequestInput, options: RequestOptions & { resendOnReconnect?: boolean } = {}): Promise<ServerFrame> {
    if (this.currentState === 'closed') return Promise.reject(new ChatClosedError(NORMAL_CLOSURE, 'client closed'));
    const full = { ...frame, ref: this.tracker.nextRef() } as RequestFrame;
    const p = this.tracker.track(full, {
      timeoutMs: options.timeoutMs ?? this.o.requestTimeoutMs,
      resendOnReconnect: options.resendOnReconnect ?? true,
    });
    if (this.isReady() && this.transmit(full)) this.tracker.markSent(full.ref);
    return p;
  }

  /** Fire-and-forget frame (e.g. typing without ref). False when not connected. */
  sendFrame(frame: ClientFrame): boolean {
    return this.isReady() && this.transmit(frame);
  }

  /**
   * Declares the position the app already has for a conversation (seq and epoch), so messages after it
   * are delivered gaplessly (missing ones are fetched). Syncs it right away when connected.
   */
  track(conversationId: string, seq: number, epoch?: string): void {
    this.emitMessages(this.inbox.track(conversationId, seq, epoch));
    if (this.isReady()) {
      const pos = this.inbox.position(conversationId);
      if (pos) void this.syncPositions([pos], this.gen);
    }
  }

  /** Stops tracking a conversation (no more sync/gap filling for it until a message arrives again). */
  untrack(conversationId: string): void {
    this.inbox.forget(conversationId);
  }

  /** Current position of every known conversation; persist and pass back as `options.positions`. */
  positions(): Position[] {
    return this.inbox.positions();
  }

  // ---------------------------------------------------------------- connection

  private isReady(): boolean {
    return this.currentState === 'ready' && this.ws !== undefined && this.ws.readyState === WS_OPEN;
  }

  private async openSocket(): Promise<void> {
    this.reconnectTimer = undefined;
    const gen = ++this.gen;
    this.currentState = 'connecting';
    let token: string;
    try {
      token = await this.options.getToken();
    } catch (err) {
      if (gen !== this.gen || this.closedByUser) return;
      this.emitError(new ChatConnectionError('getToken failed', { cause: err }));
      this.afterDisconnect(ABNORMAL_CLOSURE, 'getToken failed');
      return;
    }
    if (gen !== this.gen || this.closedByUser) return;
    const url = this.urls[this.urlIndex % this.urls.length] ?? (this.urls[0] as string);
    let ws: WebSocketLike;
    try {
      ws = new this.WebSocketImpl(url, ['bearer', token]);
    } catch (err) {
      this.emitError(new ChatConnectionError(`cannot open ${url}`, { cause: err }));
      this.afterDisconnect(ABNORMAL_CLOSURE, 'connect failed');
      return;
    }
    this.ws = ws;
    ws.onopen = null;
    ws.onmessage = (ev) => {
      if (this.ws === ws) this.onText(ev.data);
    };
    ws.onerror = (ev) => {
      if (this.ws === ws) this.emitError(new ChatConnectionError(`websocket error (${url})`, { cause: ev }));
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.detach();
      this.afterDisconnect(typeof ev.code === 'number' ? ev.code : ABNORMAL_CLOSURE, typeof ev.reason === 'string' ? ev.reason : '');
    };
    this.connectTimer = this.timers.setTimeout(() => {
      if (this.ws === ws && this.currentState === 'connecting') this.dropSocket(ABNORMAL_CLOSURE, 'connect timeout');
    }, this.o.connectTimeoutMs);
  }

  /** Detaches from the current socket (no further events are processed from it). */
  private detach(): void {
    const ws = this.ws;
    if (!ws) return;
    ws.onopen = null;
    ws.onmessage = null;
    ws.onclose = null;
    // Not null: `ws` (Node) emits 'error' when a socket still connecting is closed, and an EventEmitter
    // 'error' without a listener would crash the process.
    ws.onerror = ignore;
    this.ws = undefined;
  }

  /** Abandons the current socket from the client side and goes through the normal reconnect path. */
  private dropSocket(code: number, reason: string): void {
    const ws = this.ws;
    this.detach();
    if (ws) {
      try {
        ws.close(NORMAL_CLOSURE, reason);
      } catch {
        // ignore
      }
    }
    this.afterDisconnect(code, reason);
  }

  private clearConnectionTimers(): void {
    for (const t of [this.connectTimer, this.stableTimer, this.drainTimer]) if (t !== undefined) this.timers.clearTimeout(t);
    this.connectTimer = this.stableTimer = this.drainTimer = undefined;
  }

  private afterDisconnect(code: number, reason: string): void {
    this.gen++;
    this.currentHello = undefined;
    this.syncing = 0;
    this.clearConnectionTimers();
    const lost = new ChatConnectionError(`connection closed (${code}${reason ? `: ${reason}` : ''})`);
    this.tracker.connectionLost(lost);
    this.outbox.connectionLost();
    if (this.closedByUser) return;

    const delay = this.reconnectDelay(code);
    if (delay === undefined) {
      this.shutdown(code, reason);
      this.emitter.emit('close', { code, reason, willReconnect: false });
      return;
    }
    this.urlIndex++;
    this.currentState = 'reconnecting';
    this.reconnectTimer = this.timers.setTimeout(() => void this.openSocket(), delay);
    this.emitter.emit('close', { code, reason, willReconnect: true, reconnectInMs: delay });
  }

  /** Delay before reconnecting after `code`, or undefined when the client must not reconnect. */
  private reconnectDelay(code: number): number | undefined {
    if (code === CloseCodes.TOKEN_EXPIRED.code) {
      // A fresh token comes from getToken on the next attempt; a second expiry in a row means it is not fresh.
      this.tokenExpiredStreak++;
      return this.tokenExpiredStreak > 1 ? undefined : 0;
    }
    const def = closeDef(code);
    if (def && !def.retry) return undefined;
    if (this.drainDeadline !== undefined) {
      const delay = Math.max(0, this.drainDeadline - this.timers.now());
      this.drainDeadline = undefined;
      return delay;
    }
    if (this.backoff.attempts >= this.o.maxReconnectAttempts) return undefined;
    return this.backoff.next();
  }

  /** Permanent close: reject everything still pending. */
  private shutdown(code: number, reason: string): void {
    this.currentState = 'closed';
    this.currentHello = undefined;
    this.clearConnectionTimers();
    if (this.reconnectTimer !== undefined) this.timers.clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    for (const t of this.scheduled) this.timers.clearTimeout(t);
    this.scheduled.clear();
    const err = new ChatClosedError(code, reason);
    this.tracker.rejectAll(err);
    for (const item of this.outbox.drain()) {
      this.sendWaiters.get(item.clientMsgId)?.reject(err);
      this.sendWaiters.delete(item.clientMsgId);
    }
    for (const d of this.connectWaiters.splice(0)) d.reject(err);
  }

  // ---------------------------------------------------------------- frames in

  private onText(data: unknown): void {
    const text = messageText(data);
    let value: unknown;
    try {
      value = text === undefined ? undefined : JSON.parse(text);
    } catch {
      value = undefined;
    }
    if (typeof value !== 'object' || value === null || typeof (value as { type?: unknown }).type !== 'string') {
      this.emitError(new Error('received a frame that is not a JSON object with a type'));
      return;
    }
    this.handleFrame(value as ServerFrame);
  }

  private handleFrame(frame: ServerFrame): void {
    switch (frame.type) {
      case 'hello':
        this.onHello(frame);
        return;
      case 'ack':
        this.onAck(frame);
        return;
      case 'message': {
        const msg = toChatMessage(frame);
        if (!msg) {
          this.emitError(new Error('received a message frame with an invalid shape'));
          return;
        }
        this.applyInbox(this.inbox.accept(msg));
        this.maybeFillGap(msg.conversation_id);
        return;
      }
      case 'sync.result':
      case 'history.result':
      case 'pong':
        this.tracker.resolve(frame.ref, frame);
        return;
      case 'error': {
        const err = new ChatRequestError(frame);
        if (frame.ref !== undefined && this.tracker.reject(frame.ref, err)) return;
        this.emitError(err);
        return;
      }
      case 'reconnect':
        this.onReconnectFrame(frame);
        return;
      case 'sync.hint':
        this.onSyncHint(frame);
        return;
      case 'digest':
        this.onDigest(frame);
        return;
      default: {
        const ref = (frame as { ref?: unknown }).ref;
        if (typeof ref === 'string') this.tracker.resolve(ref, frame);
        this.emitter.emit('frame', frame);
      }
    }
  }

  private onHello(frame: HelloFrame): void {
    if (this.currentState !== 'connecting') return;
    if (this.connectTimer !== undefined) this.timers.clearTimeout(this.connectTimer);
    this.connectTimer = undefined;
    this.currentState = 'ready';
    this.currentHello = frame;
    this.tokenExpiredStreak = 0;
    this.stableTimer = this.timers.setTimeout(() => {
      this.stableTimer = undefined;
      this.backoff.reset();
    }, this.o.stableAfterMs);
    const gen = this.gen;
    this.emitter.emit('open', frame);
    for (const d of this.connectWaiters.splice(0)) d.resolve(frame);
    if (gen !== this.gen) return; // a listener closed the client
    void this.syncPositions(this.inbox.positions(), gen);
    for (const f of this.tracker.unsent()) {
      if (f.type !== 'sync' && f.type !== 'send' && this.transmit(f)) this.tracker.markSent(f.ref);
    }
    this.flushOutbox();
  }

  private onReconnectFrame(frame: ReconnectFrame): void {
    const afterMs = Math.max(0, Number(frame.after_ms) || 0);
    this.drainDeadline = this.timers.now() + afterMs;
    if (this.drainTimer !== undefined) this.timers.clearTimeout(this.drainTimer);
    this.drainTimer = this.timers.setTimeout(() => {
      this.drainTimer = undefined;
      if (this.ws) this.dropSocket(CloseCodes.SERVER_RESTART.code, 'server asked to reconnect');
    }, afterMs);
  }

  /** Real-time delivery may have been interrupted: resume every position (after the server's spread delay). */
  private onSyncHint(frame: SyncHintFrame): void {
    const gen = this.gen;
    const afterMs = Math.min(MAX_HINT_DELAY_MS, Math.max(0, Number(frame.after_ms) || 0));
    this.schedule(() => {
      if (gen === this.gen && this.isReady()) void this.syncPositions(this.inbox.positions(), gen, 'catch-up');
    }, afterMs);
  }

  /**
   * Latest seqs of conversations this connection used. Behind in the same epoch means a real-time
   * message was lost on a live connection: that is a gap like one a later message reveals, filled
   * from history and never skipped. (A `sync` could be answered `resync` / too_far_behind when more
   * than RESUME_MAX_MESSAGES were missed, which would skip them.) Another epoch, or none known
   * yet: `sync`, so the server says how to go on.
   */
  private onDigest(frame: DigestFrame): void {
    if (!this.isReady() || !Array.isArray(frame.conversations)) return;
    const toSync: Position[] = [];
    for (const c of frame.conversations) {
      if (typeof c?.conversation_id !== 'string' || !Number.isSafeInteger(c.last_seq)) continue;
      const pos = this.inbox.position(c.conversation_id);
      if (!pos) continue; // not tracked (any more)
      const epoch = typeof c.epoch === 'string' ? c.epoch : undefined;
      if (pos.epoch !== undefined && epoch === pos.epoch) {
        if (c.last_seq <= pos.seq) continue;
        this.inbox.noteExists(c.conversation_id, c.last_seq, epoch);
        this.maybeFillGap(c.conversation_id);
      } else if (c.last_seq > pos.seq || (pos.epoch !== undefined && epoch !== undefined)) {
        toSync.push(pos);
      }
    }
    if (toSync.length > 0) void this.syncPositions(toSync, this.gen, 'catch-up');
  }

  // ---------------------------------------------------------------- sends

  private flushOutbox(): void {
    if (!this.isReady()) return;
    for (const item of this.outbox.unsent()) {
      const ref = this.tracker.nextRef();
      const frame: SendFrame = {
        type: 'send',
        ref,
        conversation_id: item.conversationId,
        client_msg_id: item.clientMsgId,
        body: item.body,
      };
      const clientMsgId = item.clientMsgId;
      this.tracker.track(frame, { timeoutMs: this.o.ackTimeoutMs, resendOnReconnect: false }).then(
        (reply) => {
          if (reply.type === 'ack') this.completeSend(clientMsgId, reply);
        },
        (err: Error) => this.onSendFailure(clientMsgId, ref, err),
      );
      this.outbox.markSent(clientMsgId, ref);
      if (this.transmit(frame)) {
        this.tracker.markSent(ref);
      } else {
        // The socket is going away: drop this transmission; the item is resent after reconnecting.
        this.tracker.reject(ref, new ChatConnectionError('websocket not writable'));
        this.outbox.unmark(clientMsgId);
      }
    }
  }

  private onAck(frame: AckFrame): void {
    if (this.tracker.resolve(frame.ref, frame)) return;
    // An ack of an earlier transmission (e.g. one that timed out): settle by client_msg_id.
    const item = this.outbox.get(frame.client_msg_id);
    if (item && item.conversationId === frame.conversation_id) this.completeSend(frame.client_msg_id, frame);
  }

  private completeSend(clientMsgId: string, ack: AckFrame): void {
    const item = this.outbox.settle(clientMsgId);
    if (!item) return;
    if (item.ref !== undefined) this.tracker.reject(item.ref, new ChatConnectionError('superseded by an earlier ack'));
    const d = this.sendWaiters.get(clientMsgId);
    this.sendWaiters.delete(clientMsgId);
    d?.resolve(ack);
  }

  private failSend(clientMsgId: string, err: Error): boolean {
    const item = this.outbox.settle(clientMsgId);
    if (!item) return false;
    if (item.ref !== undefined) this.tracker.reject(item.ref, new ChatConnectionError('send cancelled'));
    const d = this.sendWaiters.get(clientMsgId);
    this.sendWaiters.delete(clientMsgId);
    d?.reject(err);
    return true;
  }

  private onSendFailure(clientMsgId: string, ref: string, err: Error): void {
    const item = this.outbox.get(clientMsgId);
    if (!item || item.ref !== ref) return; // settled, or a stale transmission
    if (err instanceof ChatConnectionError) {
      // The socket refused the frame; it is resent after the reconnect that follows.
      return;
    }
    if (err instanceof ChatRequestError && !err.retry) {
      this.failSend(clientMsgId, err);
      return;
    }
    const retrying = this.outbox.markRetrying(clientMsgId);
    if (!retrying) return;
    if (retrying.attempts >= this.o.maxSendAttempts) {
      this.failSend(clientMsgId, err);
      return;
    }
    this.schedule(() => {
      this.outbox.markReady(clientMsgId);
      this.flushOutbox();
    }, retryDelay(err, fullJitterDelay(retrying.attempts - 1, this.retryBackoff)));
  }

  // ---------------------------------------------------------------- delivery, resume, gaps

  private async historyOnce(
    conversationId: string,
    query: HistoryQuery,
    resendOnReconnect: boolean,
    timeoutMs?: number,
  ): Promise<HistoryResultFrame> {
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

  /**
   * Syncs `positions`, 1000 per request. A conversation answered with `has_more` (its missed
   * messages did not fit in one reply) is synced again from its new position until it is complete;
   * a round in which nothing moved stops (gap filling takes over from there). `kind`: see SyncKind;
   * the rounds after the first are catch-up (the server already agreed to serve the resume).
   */
  private async syncPositions(positions: Position[], gen: number, kind: SyncKind = 'resume'): Promise<void> {
    if (positions.length === 0) return;
    this.syncing++;
    try {
      let pending = positions;
      for (let round = 0; pending.length > 0; round++) {
        const more: string[] = [];
        for (let i = 0; i < pending.length; i += MAX_SYNC_POSITIONS) {
          const chunk = pending.slice(i, i + MAX_SYNC_POSITIONS).map(wirePosition);
          let reply: ServerFrame;
          try {
            reply = await this.withRetry(() => this.request({ type: 'sync', positions: chunk }, { resendOnReconnect: false }));
          } catch (err) {
            if (gen !== this.gen || err instanceof ChatConnectionError || err instanceof ChatClosedError) return;
            this.emitError(err instanceof Error ? err : new Error(String(err)));
            continue;
          }
          if (gen !== this.gen) return;
          if (reply.type !== 'sync.result') continue;
          this.applySync(reply, round === 0 ? kind : 'catch-up');
          for (const c of reply.conversations ?? []) if (c.status === 'ok' && c.has_more === true) more.push(c.conversation_id);
        }
        const before = new Map(pending.map((p) => [p.conversation_id, p.seq]));
        pending = more.map((id) => this.inbox.position(id)).filter((p): p is Position => p !== undefined);
        if (!pending.some((p) => p.seq !== before.get(p.conversation_id))) break;
      }
    } finally {
      if (gen === this.gen) {
        this.syncing--;
        if (this.syncing === 0) for (const g of this.inbox.gaps()) this.maybeFillGap(g.conversationId);
      }
    }
  }

  private applySync(reply: SyncResultFrame, kind: SyncKind): void {
    for (const c of reply.conversations ?? []) {
      if (c.status === 'resync') {
        const reason = c.reason ?? 'epoch_changed';
        if (kind === 'catch-up' && reason === 'too_far_behind' && c.epoch && c.epoch === this.inbox.position(c.conversation_id)?.epoch) {
          // More missed on a live connection than a resume serves: a gap, filled from history once the sync is done.
          this.inbox.noteExists(c.conversation_id, c.last_seq, c.epoch);
          continue;
        }
        // Not a member any more (the server has no epoch to give): stop tracking the conversation.
        const gone = (reason as string) === 'not_member' || !c.epoch;
        const released = gone ? [] : this.inbox.resync(c.conversation_id, c.epoch, c.last_seq);
        if (gone) this.inbox.forget(c.conversation_id);
        this.emitter.emit('resync', { conversationId: c.conversation_id, reason, epoch: c.epoch, lastSeq: c.last_seq });
        this.emitMessages(released);
      } else {
        this.applyInbox(this.inbox.syncOk(c.conversation_id, c.epoch, c.last_seq, validMessages(c.messages ?? [])));
      }
    }
  }

  private maybeFillGap(conversationId: string): void {
    if (this.syncing > 0 || !this.isReady() || this.filling.has(conversationId)) return;
    if (!this.inbox.gap(conversationId)) return;
    void this.fillGap(conversationId, this.gen);
  }

  /** Fetches history after lastSeq until the gap is closed; skips a range that never shows up. */
  private async fillGap(conversationId: string, gen: number): Promise<void> {
    this.filling.add(conversationId);
    let stalled = 0;
    let failures = 0;
    try {
      for (;;) {
        if (gen !== this.gen) return;
        const gap = this.inbox.gap(conversationId);
        if (!gap) return;
        const limit = Math.max(1, Math.min(this.o.gapFillPageSize, gap.until - gap.after, 1000));
        let progressed = false;
        try {
          const page = await this.withRetry(() => this.historyOnce(conversationId, { after: gap.after, limit }, false));
          if (gen !== this.gen) return;
          const before = this.inbox.position(conversationId)?.seq;
          this.applyInbox(this.inbox.acceptAll(page.messages.filter((m) => m.conversation_id === conversationId)));
          progressed = this.inbox.position(conversationId)?.seq !== before;
        } catch (err) {
          if (gen !== this.gen || err instanceof ChatConnectionError || err instanceof ChatClosedError) return;
          this.emitError(err instanceof Error ? err : new Error(String(err)));
          if (err instanceof ChatTimeoutError || (err instanceof ChatRequestError && err.retry)) {
            // No answer (timeout, rate limit, backend down) says nothing about the seqs: they are
            // probably stored. Back off and ask again; only answered pages count towards a skip.
            failures++;
            await this.sleep(retryDelay(err, fullJitterDelay(Math.min(failures - 1, 16), this.retryBackoff)));
            continue;
          }
          if (err instanceof ChatRequestError) stalled = this.o.maxGapFillAttempts; // a permanent refusal
        }
        failures = 0;
        if (progressed) {
          stalled = 0;
          continue;
        }
        // Real-time delivery can be ahead of storage: the missing seqs may appear shortly.
        stalled++;
        if (stalled >= this.o.maxGapFillAttempts) {
          stalled = 0;
          const skipped = this.inbox.skipGap(conversationId);
          if (skipped) {
            this.emitError(new ChatGapError(conversationId, skipped.from, skipped.to));
            this.emitMessages(skipped.deliver);
          }
          continue;
        }
        await this.sleep(fullJitterDelay(stalled - 1, this.retryBackoff));
      }
    } finally {
      this.filling.delete(conversationId);
    }
  }

  private applyInbox(result: InboxResult): void {
    if (result.epochChange) {
      const c = result.epochChange;
      this.emitter.emit('resync', { conversationId: c.conversationId, reason: 'epoch_changed', epoch: c.epoch, lastSeq: c.lastSeq });
    }
    this.emitMessages(result.deliver);
  }

  private emitMessages(messages: readonly ChatMessage[]): void {
    for (const m of messages) this.emitter.emit('message', m);
  }

  // ---------------------------------------------------------------- helpers

  private transmit(frame: object): boolean {
    const ws = this.ws;
    if (!ws || ws.readyState !== WS_OPEN) return false;
    try {
      ws.send(JSON.stringify(frame));
      return true;
    } catch (err) {
      this.emitError(new ChatConnectionError('websocket send failed', { cause: err }));
      return false;
    }
  }

  private async withRetry<T>(fn: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        if (!(err instanceof ChatRequestError) || !err.retry || attempt + 1 >= this.o.maxRequestAttempts) throw err;
        await this.sleep(retryDelay(err, fullJitterDelay(attempt, this.retryBackoff)));
        if (this.currentState === 'closed') throw new ChatClosedError(NORMAL_CLOSURE, 'client closed');
      }
    }
  }

  private schedule(fn: () => void, ms: number): void {
    const handle: unknown = this.timers.setTimeout(() => {
      this.scheduled.delete(handle);
      fn();
    }, ms);
    this.scheduled.add(handle);
  }

  /** Resolves after `ms`; never resolves if the client closes first (callers are abandoned). */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.schedule(resolve, ms));
  }

  private emitError(err: Error): void {
    this.emitter.emit('error', err);
  }
}

function ignore(): void {
  // intentionally empty
}

function wirePosition(p: Position): Position {
  return p.epoch ? { conversation_id: p.conversation_id, seq: p.seq, epoch: p.epoch } : { conversation_id: p.conversation_id, seq: p.seq };
}

/** Validates and copies a message (dropping the frame's `type`). */
function toChatMessage(v: unknown): ChatMessage | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const m = v as Record<string, unknown>;
  if (
    typeof m.conversation_id !== 'string' ||
    typeof m.message_id !== 'string' ||
    typeof m.seq !== 'number' ||
    !Number.isSafeInteger(m.seq) ||
    m.seq < 1 ||
    typeof m.epoch !== 'string'
  ) {
    return undefined;
  }
  return {
    conversation_id: m.conversation_id,
    message_id: m.message_id,
    seq: m.seq,
    epoch: m.epoch,
    sender_id: typeof m.sender_id === 'string' ? m.sender_id : '',
    client_msg_id: typeof m.client_msg_id === 'string' ? m.client_msg_id : '',
    body: typeof m.body === 'string' ? m.body : '',
    created_at: typeof m.created_at === 'number' ? m.created_at : 0,
  };
}

function validMessages(list: unknown): ChatMessage[] {
  if (!Array.isArray(list)) return [];
  const out: ChatMessage[] = [];
  for (const v of list) {
    const m = toChatMessage(v);
    if (m) out.push(m);
  }
  return out;
}
