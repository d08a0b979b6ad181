import { CloseCodes, Errors, type ErrorDef, type HelloFrame, type ReconnectFrame, type ServerFrame } from '@chat/protocol';
import { Backoff, type BackoffOptions } from './backoff.js';
import { ChatConnectionError } from './errors.js';
import type { Timers } from './timers.js';
import { WS_OPEN, messageText, type WebSocketConstructor, type WebSocketLike } from './transport.js';

export type ConnectionState = 'idle' | 'connecting' | 'ready' | 'reconnecting' | 'closed';

export interface CloseInfo {
  code: number;
  reason: string;
  willReconnect: boolean;
  /** Delay before the next attempt when `willReconnect`. */
  reconnectInMs?: number;
}

export interface ConnectionOptions {
  urls: readonly string[];
  getToken: () => string | Promise<string>;
  WebSocketImpl: WebSocketConstructor;
  timers: Timers;
  backoff: BackoffOptions;
  stableAfterMs: number;
  maxReconnectAttempts: number;
  connectTimeoutMs: number;
}

/** What the connection tells its owner. */
export interface ConnectionHooks {
  /** A socket answered `hello`. */
  ready(hello: HelloFrame): void;
  /** Every server frame but `hello` and `reconnect`, which the connection handles itself. */
  frame(frame: ServerFrame): void;
  /** The socket is gone; requests in flight on it are lost. Called before `closed`, never after `close()`. */
  lost(err: ChatConnectionError): void;
  /** After a socket is gone: a reconnect is scheduled, or (`willReconnect` false) the connection is closed for good. */
  closed(info: CloseInfo): void;
  error(err: Error): void;
}

/** Close code reported for failures without a server close frame (token fetch, connect timeout). */
const ABNORMAL_CLOSURE = 1006;
export const NORMAL_CLOSURE = 1000;

/**
 * The socket's life: fetches a token and connects, waits for `hello` within the connect timeout,
 * reconnects with full-jitter backoff through the URLs (a fresh token once after 4001, at the
 * server's time after a `reconnect` frame, never after a permanent close code), and tells its
 * owner through hooks.
 */
export class Connection {
  private readonly backoff: Backoff;
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

  constructor(
    private readonly o: ConnectionOptions,
    private readonly hooks: ConnectionHooks,
  ) {
    this.backoff = new Backoff(o.backoff);
  }

  get state(): ConnectionState {
    return this.currentState;
  }

  get hello(): HelloFrame | undefined {
    return this.currentHello;
  }

  /** Changes whenever a socket comes or goes: work begun under another generation is stale. */
  get generation(): number {
    return this.gen;
  }

  isReady(): boolean {
    return this.currentState === 'ready' && this.ws !== undefined && this.ws.readyState === WS_OPEN;
  }

  /** Starts connecting when idle. */
  start(): void {
    if (this.currentState === 'idle') void this.openSocket();
  }

  /** Closes for good: no reconnect. The owner hears `closed` with willReconnect false. */
  close(code: number, reason: string): void {
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
    this.finish(code, reason);
  }

  /** Writes a frame to the open socket; false when there is none or it refused. */
  transmit(frame: object): boolean {
    const ws = this.ws;
    if (!ws || ws.readyState !== WS_OPEN) return false;
    try {
      ws.send(JSON.stringify(frame));
      return true;
    } catch (err) {
      this.hooks.error(new ChatConnectionError('websocket send failed', { cause: err }));
      return false;
    }
  }

  private async openSocket(): Promise<void> {
    this.reconnectTimer = undefined;
    const gen = ++this.gen;
    this.currentState = 'connecting';
    let token: string;
    try {
      token = await this.o.getToken();
    } catch (err) {
      if (gen !== this.gen || this.closedByUser) return;
      this.hooks.error(new ChatConnectionError('getToken failed', { cause: err }));
      this.afterDisconnect(ABNORMAL_CLOSURE, 'getToken failed');
      return;
    }
    if (gen !== this.gen || this.closedByUser) return;
    const url = this.o.urls[this.urlIndex % this.o.urls.length] ?? (this.o.urls[0] as string);
    let ws: WebSocketLike;
    try {
      ws = new this.o.WebSocketImpl(url, ['bearer', token]);
    } catch (err) {
      this.hooks.error(new ChatConnectionError(`cannot open ${url}`, { cause: err }));
      this.afterDisconnect(ABNORMAL_CLOSURE, 'connect failed');
      return;
    }
    this.ws = ws;
    ws.onopen = null;
    ws.onmessage = (ev) => {
      if (this.ws === ws) this.onText(ev.data);
    };
    ws.onerror = (ev) => {
      if (this.ws === ws) this.hooks.error(new ChatConnectionError(`websocket error (${url})`, { cause: ev }));
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.detach();
      this.afterDisconnect(typeof ev.code === 'number' ? ev.code : ABNORMAL_CLOSURE, typeof ev.reason === 'string' ? ev.reason : '');
    };
    this.connectTimer = this.o.timers.setTimeout(() => {
      if (this.ws === ws && this.currentState === 'connecting') this.dropSocket(ABNORMAL_CLOSURE, 'connect timeout');
    }, this.o.connectTimeoutMs);
  }

  private onText(data: unknown): void {
    const text = messageText(data);
    let value: unknown;
    try {
      value = text === undefined ? undefined : JSON.parse(text);
    } catch {
      value = undefined;
    }
    if (typeof value !== 'object' || value === null || typeof (value as { type?: unknown }).type !== 'string') {
      this.hooks.error(new Error('received a frame that is not a JSON object with a type'));
      return;
    }
    const frame = value as ServerFrame;
    if (frame.type === 'hello') this.onHello(frame);
    else if (frame.type === 'reconnect') this.onReconnectFrame(frame);
    else this.hooks.frame(frame);
  }

  private onHello(frame: HelloFrame): void {
    if (this.currentState !== 'connecting') return;
    if (this.connectTimer !== undefined) this.o.timers.clearTimeout(this.connectTimer);
    this.connectTimer = undefined;
    this.currentState = 'ready';
    this.currentHello = frame;
    this.tokenExpiredStreak = 0;
    this.stableTimer = this.o.timers.setTimeout(() => {
      this.stableTimer = undefined;
      this.backoff.reset();
    }, this.o.stableAfterMs);
    this.hooks.ready(frame);
  }

  /** The server drains: reconnect at the time it asks (to another gateway), not at once. */
  private onReconnectFrame(frame: ReconnectFrame): void {
    const afterMs = Math.max(0, Number(frame.after_ms) || 0);
    this.drainDeadline = this.o.timers.now() + afterMs;
    if (this.drainTimer !== undefined) this.o.timers.clearTimeout(this.drainTimer);
    this.drainTimer = this.o.timers.setTimeout(() => {
      this.drainTimer = undefined;
      if (this.ws) this.dropSocket(CloseCodes.SERVER_RESTART.code, 'server asked to reconnect');
    }, afterMs);
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
    for (const t of [this.connectTimer, this.stableTimer, this.drainTimer]) if (t !== undefined) this.o.timers.clearTimeout(t);
    this.connectTimer = this.stableTimer = this.drainTimer = undefined;
  }

  private afterDisconnect(code: number, reason: string): void {
    this.gen++;
    this.currentHello = undefined;
    this.clearConnectionTimers();
    this.hooks.lost(new ChatConnectionError(`connection closed (${code}${reason ? `: ${reason}` : ''})`));
    if (this.closedByUser) return;

    const delay = this.reconnectDelay(code);
    if (delay === undefined) {
      this.finish(code, reason);
      return;
    }
    this.urlIndex++;
    this.currentState = 'reconnecting';
    this.reconnectTimer = this.o.timers.setTimeout(() => void this.openSocket(), delay);
    this.hooks.closed({ code, reason, willReconnect: true, reconnectInMs: delay });
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
      const delay = Math.max(0, this.drainDeadline - this.o.timers.now());
      this.drainDeadline = undefined;
      return delay;
    }
    if (this.backoff.attempts >= this.o.maxReconnectAttempts) return undefined;
    return this.backoff.next();
  }

  /** Closed for good. */
  private finish(code: number, reason: string): void {
    this.currentState = 'closed';
    this.currentHello = undefined;
    this.clearConnectionTimers();
    if (this.reconnectTimer !== undefined) this.o.timers.clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    this.hooks.closed({ code, reason, willReconnect: false });
  }
}

function closeDef(code: number): ErrorDef | undefined {
  return Object.values(CloseCodes).find((d: ErrorDef) => d.code === code) ?? Object.values(Errors).find((d: ErrorDef) => d.code === code);
}

function ignore(): void {
  // intentionally empty
}
