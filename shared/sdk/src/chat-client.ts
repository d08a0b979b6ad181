import {
  MAX_ATTACHMENTS_PER_MESSAGE,
  MAX_REQUESTS_IN_FLIGHT,
  SENDS_IN_FLIGHT,
  type AckFrame,
  type ChatMessage,
  type ClientFrame,
  type EverythingNew,
  type HelloFrame,
  type HistoryResultFrame,
  type Position,
  type ReceiptFrame,
  type ServerFrame,
} from '@chat/protocol';
import { DEFAULT_BACKOFF_BASE_MS, DEFAULT_BACKOFF_CAP_MS, type BackoffOptions } from './backoff.js';
import { Connection, NORMAL_CLOSURE, type CloseInfo, type ConnectionState } from './connection.js';
import { deferred, type Deferred } from './deferred.js';
import { TypedEmitter } from './emitter.js';
import { ChatClosedError, ChatRequestError } from './errors.js';
import { generateClientMsgId, isValidClientMsgId } from './ids.js';
import { validLargeNew, validLatest, validMessages } from './messages.js';
import { ReadState, type ListedConversation } from './read-state.js';
import { RequestTracker } from './request-tracker.js';
import { Requests, type EverythingNewOptions, type HistoryQuery, type RequestInput, type RequestOptions } from './requests.js';
import { Resume, type ResyncInfo } from './resume.js';
import { Scheduler } from './scheduler.js';
import { SendQueue } from './send-queue.js';
import { defaultTimers, type Timers } from './timers.js';
import { TokenRefresh } from './token-refresh.js';
import { globalWebSocket, type WebSocketConstructor } from './transport.js';

export type { CloseInfo, ConnectionState } from './connection.js';
export type { HistoryQuery, RequestInput, RequestOptions } from './requests.js';
export type { ResyncInfo } from './resume.js';

export interface ChatClientOptions {
  /** Gateway URL(s), e.g. `ws://127.0.0.1:8081/ws`. With several, each reconnect moves to the next one. */
  url: string | readonly string[];
  /**
   * Returns the JWT; called on every (re)connect (sent as subprotocols `['bearer', token]`) and
   * shortly before the connection's token expires, to refresh it in band (`auth`) without reconnecting.
   */
  getToken: () => string | Promise<string>;
  /** How long before the token's `exp` a fresh one is sent on the open connection. @default 60_000 */
  tokenRefreshAheadMs?: number;
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
  /**
   * Sends transmitted and not yet answered at once; more wait in the outbox, in order. Kept below the
   * gateway's MAX_REQUESTS_IN_FLIGHT so syncs and history requests always have room. @default SENDS_IN_FLIGHT (24)
   */
  maxSendsInFlight?: number;
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
  /** A read position: the user's own (any device) or, in small conversations, another member's. */
  receipt: (receipt: ReceiptFrame) => void;
  /** A conversation's unread count changed (messages, or a read on any of the user's devices). */
  unread: (conversationId: string, unread: number, totalUnread: number) => void;
};

export interface SendOptions {
  /** Reuse an id to make a retried send idempotent across client instances (G5). @default generated */
  clientMsgId?: string;
  /**
   * Ids of attachments uploaded and completed in this conversation by this user (AttachmentsClient.upload),
   * at most MAX_ATTACHMENTS_PER_MESSAGE, distinct. With attachments the body may be empty. @default none
   */
  attachmentIds?: readonly string[];
}

/**
 * Protocol v1 client for browsers and Node: reconnects with full-jitter backoff, resumes with `sync`
 * (G4), resends unacked sends with the same client_msg_id (G5), and emits each message exactly once in
 * per-conversation seq order, filling gaps from history (G2, G3). A facade over its three parts: the
 * connection (socket life), resume (positions, sync, gaps) and the send queue (outbox, acks).
 */
export class ChatClient {
  private readonly emitter = new TypedEmitter<ChatClientEvents>((err, event) => {
    if (event === 'error')
      queueMicrotask(() => {
        throw err;
      });
    else this.emitError(err instanceof Error ? err : new Error(String(err)));
  });
  private readonly connection: Connection;
  private readonly scheduler: Scheduler;
  private readonly requests: Requests;
  private readonly resume: Resume;
  private readonly sends: SendQueue;
  private readonly connectWaiters: Deferred<HelloFrame>[] = [];
  private readonly timers: Timers;
  private readonly tokenRefresh: TokenRefresh;
  /** The token the current connection was opened or last refreshed with. */
  private currentToken: string | undefined;
  private readonly readState: ReadState = new ReadState((cid, n) => this.emitter.emit('unread', cid, n, this.readState.totalUnread()));

  constructor(options: ChatClientOptions) {
    const urls = typeof options.url === 'string' ? [options.url] : [...options.url];
    if (urls.length === 0) throw new TypeError('ChatClient: at least one url is required');
    const WebSocketImpl = options.WebSocketImpl ?? globalWebSocket();
    if (!WebSocketImpl) throw new TypeError('ChatClient: no WebSocket implementation; pass options.WebSocketImpl');
    const timers = (this.timers = options.timers ?? defaultTimers);
    const random = options.random ?? Math.random;
    const retryBackoff: BackoffOptions = {
      baseMs: options.retryBaseMs ?? DEFAULT_BACKOFF_BASE_MS,
      capMs: options.retryCapMs ?? DEFAULT_BACKOFF_CAP_MS,
      random,
    };
    this.connection = new Connection(
      {
        urls,
        getToken: async () => (this.currentToken = await options.getToken()),
        WebSocketImpl,
        timers,
        backoff: { baseMs: options.reconnectBaseMs ?? DEFAULT_BACKOFF_BASE_MS, capMs: options.reconnectCapMs ?? DEFAULT_BACKOFF_CAP_MS, random },
        stableAfterMs: options.stableAfterMs ?? 5_000,
        maxReconnectAttempts: options.maxReconnectAttempts ?? Infinity,
        connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
      },
      {
        ready: (hello) => this.onReady(hello),
        frame: (frame) => this.onFrame(frame),
        lost: (err) => this.onLost(err),
        closed: (info) => this.onClosed(info),
        error: (err) => this.emitError(err),
      },
    );
    this.scheduler = new Scheduler(timers);
    const tracker = new RequestTracker(timers);
    this.requests = new Requests(tracker, this.connection, this.scheduler, {
      requestTimeoutMs: options.requestTimeoutMs ?? 10_000,
      maxRequestAttempts: options.maxRequestAttempts ?? 4,
      retryBackoff,
    });
    this.resume = new Resume(
      this.connection,
      this.requests,
      this.scheduler,
      {
        message: (m) => {
          this.readState.onMessage(m, this.connection.hello?.user_id);
          this.emitter.emit('message', m);
        },
        resync: (info) => this.emitter.emit('resync', info),
        error: (err) => this.emitError(err),
      },
      { gapFillPageSize: options.gapFillPageSize ?? 100, maxGapFillAttempts: options.maxGapFillAttempts ?? 8, retryBackoff },
      options.positions ?? [],
    );
    this.tokenRefresh = new TokenRefresh(
      timers,
      async () => options.getToken(),
      async (token) => {
        const reply = await this.request({ type: 'auth', token }, { resendOnReconnect: false });
        if (reply.type !== 'auth.ok') throw new Error(`auth answered ${reply.type}`);
        this.currentToken = token;
        return reply.expires_at;
      },
      (err) => this.emitError(err),
      options.tokenRefreshAheadMs ?? 60_000,
    );
    this.sends = new SendQueue(this.connection, tracker, this.scheduler, {
      ackTimeoutMs: options.ackTimeoutMs ?? 10_000,
      maxSendAttempts: options.maxSendAttempts ?? 5,
      maxSendsInFlight: Math.min(Math.max(1, options.maxSendsInFlight ?? SENDS_IN_FLIGHT), MAX_REQUESTS_IN_FLIGHT),
      retryBackoff,
    });
  }

  // ---------------------------------------------------------------- public API

  get state(): ConnectionState {
    return this.connection.state;
  }

  /** The `hello` of the current connection, when ready. */
  get hello(): HelloFrame | undefined {
    return this.connection.hello;
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
    if (this.connection.state === 'closed') return Promise.reject(new ChatClosedError(NORMAL_CLOSURE, 'client closed'));
    const hello = this.connection.hello;
    if (this.connection.state === 'ready' && hello) return Promise.resolve(hello);
    const d = deferred<HelloFrame>();
    this.connectWaiters.push(d);
    this.connection.start();
    return d.promise;
  }

  /** Closes for good: no reconnect; pending requests and unacked sends reject with ChatClosedError. */
  close(code = NORMAL_CLOSURE, reason = 'client closed'): void {
    this.connection.close(code, reason);
  }

  /**
   * Sends a message; resolves with its ack. The send is kept in an outbox until acked and retransmitted
   * with the same client_msg_id after reconnects, ack timeouts and temporary errors (the server dedups).
   * Rejects with ChatRequestError for permanent errors, after `maxSendAttempts`, or ChatClosedError.
   */
  send(conversationId: string, body: string, options: SendOptions = {}): Promise<AckFrame> {
    if (this.connection.state === 'closed') return Promise.reject(new ChatClosedError(NORMAL_CLOSURE, 'client closed'));
    const clientMsgId = options.clientMsgId ?? generateClientMsgId();
    if (!isValidClientMsgId(clientMsgId)) {
      return Promise.reject(new TypeError('clientMsgId must match /^[A-Za-z0-9._:-]{1,64}$/'));
    }
    const attachmentIds = options.attachmentIds ?? [];
    if (attachmentIds.length > MAX_ATTACHMENTS_PER_MESSAGE || new Set(attachmentIds).size !== attachmentIds.length) {
      return Promise.reject(new TypeError(`attachmentIds must be distinct, at most ${MAX_ATTACHMENTS_PER_MESSAGE}`));
    }
    return this.sends.add(conversationId, body, clientMsgId, attachmentIds);
  }

  /** Unacked sends, oldest first (e.g. to show them as pending or persist them). */
  pendingSends(): { clientMsgId: string; conversationId: string; body: string; attachmentIds: readonly string[] }[] {
    return this.sends.pending();
  }

  /** Stops retrying a send; its promise rejects. It may still have reached the server. */
  cancelSend(clientMsgId: string, reason = 'send cancelled'): boolean {
    return this.sends.fail(clientMsgId, new Error(reason));
  }

  /** One page of history (ascending seq). Temporary errors are retried; waits for a connection. */
  async history(conversationId: string, query: HistoryQuery = {}, options: RequestOptions = {}): Promise<HistoryResultFrame> {
    return this.requests.withRetry(() => this.requests.historyOnce(conversationId, query, true, options.timeoutMs));
  }

  /**
   * "Everything new for me" (app start, after a resync, on a new device), one page: messages of
   * the user's conversations fanned out on write after `cursor`, and the latest seq of every
   * large conversation (sync those from your positions). Keep the returned `cursor` (across
   * restarts too) and ask again at once while `has_more`. Pages may repeat messages already
   * returned: drop those at or below your position. With `largeFirstPage` (1 to
   * LARGE_FIRST_PAGE_MAX) the page that ends the round also carries, for each large conversation
   * with messages after the user's read position, the first page of them (`after_seq`, `messages`,
   * `has_more`: sync from its last message when true). Temporary errors are retried.
   */
  async everythingNew(cursor?: string, options: EverythingNewOptions = {}): Promise<EverythingNew> {
    const { largeFirstPage, ...requestOptions } = options;
    const frame = {
      type: 'inbox',
      ...(cursor !== undefined ? { cursor } : {}),
      ...(largeFirstPage !== undefined ? { large_first_page: largeFirstPage } : {}),
    } as const;
    const reply = await this.requests.withRetry(() => this.request(frame, requestOptions));
    if (reply.type !== 'inbox.result') throw new Error(`unexpected reply ${reply.type} to inbox`);
    return { messages: validMessages(reply.messages), large: validLargeNew(reply.large), cursor: reply.cursor, has_more: reply.has_more === true };
  }

  /**
   * Marks a conversation read up to `seq` on every device of the user; resolves with the position
   * the server stored (never lower than before: another device may have read further).
   */
  async markRead(conversationId: string, seq: number, options: RequestOptions = {}): Promise<number> {
    const reply = await this.request({ type: 'read', conversation_id: conversationId, seq }, options);
    return reply.type === 'receipt' ? reply.seq : seq;
  }

  /** Seeds unread counts from `GET /v1/conversation-list` rows (app start); later frames keep them current. */
  seedReadState(rows: ListedConversation[]): void {
    this.readState.seed(rows);
  }

  /** Unread messages of a conversation, as far as this client has seen (kept across the user's devices by receipts). */
  unreadCount(conversationId: string): number {
    return this.readState.unread(conversationId);
  }

  totalUnread(): number {
    return this.readState.totalUnread();
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
    return this.requests.request(frame, options);
  }

  /** Fire-and-forget frame (e.g. typing without ref). False when not connected. */
  sendFrame(frame: ClientFrame): boolean {
    return this.connection.isReady() && this.connection.transmit(frame);
  }

  /**
   * Declares the position the app already has for a conversation (seq and epoch), so messages after it
   * are delivered gaplessly (missing ones are fetched). Syncs it right away when connected.
   */
  track(conversationId: string, seq: number, epoch?: string): void {
    this.resume.track(conversationId, seq, epoch);
  }

  /** Stops tracking a conversation (no more sync/gap filling for it until a message arrives again). */
  untrack(conversationId: string): void {
    this.resume.untrack(conversationId);
  }

  /** Current position of every known conversation; persist and pass back as `options.positions`. */
  positions(): Position[] {
    return this.resume.positions();
  }

  // ---------------------------------------------------------------- connection events

  private onReady(hello: HelloFrame): void {
    const gen = this.connection.generation;
    this.emitter.emit('open', hello);
    for (const d of this.connectWaiters.splice(0)) d.resolve(hello);
    if (gen !== this.connection.generation) return; // a listener closed the client
    this.tokenRefresh.connected(this.currentToken);
    this.resume.connected();
    this.requests.transmitWaiting();
    this.sends.flush();
  }

  private onFrame(frame: ServerFrame): void {
    switch (frame.type) {
      case 'ack':
        this.sends.onAck(frame);
        return;
      case 'message':
        this.resume.onMessage(frame);
        return;
      case 'sync.result':
      case 'history.result':
      case 'inbox.result':
      case 'pong':
        this.requests.tracker.resolve(frame.ref, frame);
        return;
      case 'error': {
        const err = new ChatRequestError(frame);
        if (frame.ref !== undefined && this.requests.tracker.reject(frame.ref, err)) return;
        this.emitError(err);
        return;
      }
      case 'sync.hint':
        this.resume.onSyncHint(frame);
        return;
      case 'receipt':
        if (frame.ref !== undefined) this.requests.tracker.resolve(frame.ref, frame);
        this.readState.onReceipt(frame, this.connection.hello?.user_id);
        this.emitter.emit('receipt', frame);
        this.emitter.emit('frame', frame);
        return;
      case 'digest':
        this.resume.onDigest(frame);
        return;
      default: {
        const ref = (frame as { ref?: unknown }).ref;
        if (typeof ref === 'string') this.requests.tracker.resolve(ref, frame);
        this.emitter.emit('frame', frame);
      }
    }
  }

  private onLost(err: Error): void {
    this.tokenRefresh.stop();
    this.resume.connectionLost();
    this.requests.tracker.connectionLost(err);
    this.sends.connectionLost();
  }

  private onClosed(info: CloseInfo): void {
    this.tokenRefresh.stop();
    if (!info.willReconnect) {
      // Closed for good: reject everything still pending.
      this.scheduler.cancelAll();
      const err = new ChatClosedError(info.code, info.reason);
      this.requests.tracker.rejectAll(err);
      this.sends.rejectAll(err);
      for (const d of this.connectWaiters.splice(0)) d.reject(err);
    }
    this.emitter.emit('close', info);
  }

  private emitError(err: Error): void {
    this.emitter.emit('error', err);
  }
}
