import {
  ChatError,
  CloseCodes,
  Errors,
  decodeFrame,
  parseClientFrame,
  rateLimited,
  refOf,
  type ClientFrame,
  type HistoryFrame,
  type InboxFrame,
  type ServerFrame,
  type SyncFrame,
} from '@chat/protocol';
import type { Logger } from '@chat/server/logger';
import { noteReply } from '../delivery/conversation-activity.js';
import { errorFrame, errorFrameFor } from './error-frames.js';
import { FrameHandler } from './frame-handler.js';
import type { FloodPenalties } from './flood-penalties.js';
import { frameWindowEnd, ignoresFrameLimit, takeFrame } from './frame-rate.js';
import type { GatewayMetrics } from '../gateway-metrics.js';
import type { GatewayRateLimits } from './gateway-rate-limits.js';
import type { ResolvedGatewayOptions } from '../gateway-options.js';
import { recordInvalidFrame } from './invalid-frames.js';
import type { GatewaySocket } from '../transport/socket-data.js';
import type { TokenExpiry } from '../transport/token-expiry.js';
import { hasDeferredReplies, sendReply } from '../transport/reply-writer.js';
import { closeSocket, isShut, type SendPolicy } from '../transport/socket-sender.js';

type Limits = Pick<
  ResolvedGatewayOptions,
  'maxFrameBytes' | 'maxBodyBytes' | 'maxInvalidFrames' | 'invalidFrameWindowMs' | 'maxInflightPerSocket' | 'framesPerConnection'
>;

/**
 * sync/history/inbox requests of one socket sent to chat-service at once. Their replies are the large
 * ones (each up to the reply budget); the rest wait, still counted as in flight, so what one socket
 * can make the gateway hold is bounded by this times the budget.
 */
export const MAX_READS_IN_FLIGHT = 2;

/** Requests with large, byte-budgeted replies. */
type ReadFrame = SyncFrame | HistoryFrame | InboxFrame;

function isRead(frame: ClientFrame): frame is ReadFrame {
  return frame.type === 'sync' || frame.type === 'history' || frame.type === 'inbox';
}

/**
 * The uWS `message` handler: size check, decode, validate, rate limits, dispatch, reply. Nothing a
 * client sends can throw out of here; invalid frames get an `error` frame echoing `ref` and the
 * socket stays open until it sends `maxInvalidFrames` of them within a window. Over a rate limit a
 * frame gets RATE_LIMITED with `retry_after_ms` and has no other effect. The frame and send limits
 * are decided in memory (no Redis round trip per frame); presence.sub's id budget is awaited.
 */
export class ClientMessages {
  constructor(
    private readonly handler: FrameHandler,
    private readonly metrics: GatewayMetrics,
    private readonly log: Logger,
    private readonly limits: Limits,
    private readonly policy: SendPolicy,
    private readonly rateLimits: GatewayRateLimits,
    /** Where a connection closed with 4502 leaves its user, so reconnecting buys no fresh frame budget. */
    private readonly penalties: FloodPenalties,
    /** Moves a socket's 4500 close later when it refreshes its token in band. */
    private readonly tokenExpiry: Pick<TokenExpiry, 'extend'>,
  ) {}

  onMessage(ws: GatewaySocket, message: ArrayBuffer, isBinary: boolean): void {
    const data = ws.getUserData();
    if (isShut(ws)) return;
    if (message.byteLength > this.limits.maxFrameBytes) {
      this.metrics.markFrame('oversize');
      closeSocket(ws, CloseCodes.MESSAGE_TOO_BIG);
      return;
    }
    if (isBinary) {
      this.refuse(ws, new ChatError(Errors.INVALID_SHAPE, 'binary frames are not supported; send JSON text'), undefined);
      return;
    }
    // Copy out of the ArrayBuffer now: uWS neuters it when this callback returns.
    const text = Buffer.from(message).toString('utf8');
    let value: unknown;
    let frame: ClientFrame;
    try {
      value = decodeFrame(text);
      frame = parseClientFrame(value, data.userId, { maxBodyBytes: this.limits.maxBodyBytes });
    } catch (err) {
      this.refuse(ws, err, refOf(value));
      return;
    }
    this.metrics.markFrame(frame.type);
    const frameWait = takeFrame(data, Date.now(), this.limits.framesPerConnection);
    if (frameWait > 0) {
      if (ignoresFrameLimit(data, this.limits.framesPerConnection)) {
        this.penalties.penalize(data.userId, frameWindowEnd(data, this.limits.framesPerConnection), Date.now());
        closeSocket(ws, CloseCodes.RATE_LIMIT_IGNORED);
        return;
      }
      this.limited(ws, frame.ref, 'frames', frameWait, 'too many frames on this connection');
      return;
    }
    if (frame.type === 'send') {
      const sendWait = this.rateLimits.sends.take(data.userId);
      if (sendWait > 0) {
        this.limited(ws, frame.ref, 'sends', sendWait, 'too many messages sent by this user');
        return;
      }
    }
    const remote = FrameHandler.isRemote(frame);
    if (remote) {
      if (data.inflight >= this.limits.maxInflightPerSocket) {
        this.metrics.markRateLimited('in_flight');
        sendReply(ws, errorFrame(Errors.RATE_LIMITED, frame.ref, 'too many requests in flight on this connection'), this.policy);
        return;
      }
      data.inflight++;
    }
    if (isRead(frame)) {
      (data.waitingReads ??= []).push(frame);
      this.pumpReads(ws);
      return;
    }
    void this.dispatch(ws, frame, remote);
  }

  /**
   * Starts waiting sync/history requests while fewer than MAX_READS_IN_FLIGHT are out and no reply
   * waits for drain (so large replies are fetched only when the socket can take them). Called when
   * a read's reply is written and from the uWS drain handler.
   */
  pumpReads(ws: GatewaySocket): void {
    const data = ws.getUserData();
    while (data.waitingReads !== undefined && data.readsInFlight < MAX_READS_IN_FLIGHT && !hasDeferredReplies(ws) && !isShut(ws)) {
      const frame = data.waitingReads.shift();
      if (data.waitingReads.length === 0) data.waitingReads = undefined;
      if (frame === undefined) return;
      data.readsInFlight++;
      void this.dispatch(ws, frame, true);
    }
  }

  private async dispatch(ws: GatewaySocket, frame: ClientFrame, remote: boolean): Promise<void> {
    const data = ws.getUserData();
    const started = performance.now();
    const read = isRead(frame);
    const done = (): void => {
      if (remote) data.inflight--;
      if (read) {
        data.readsInFlight--;
        this.pumpReads(ws);
      }
    };
    let reply: ServerFrame | undefined;
    try {
      // presence.sub costs a membership check per named user in presence-service: a budget per user.
      const wait = frame.type === 'presence.sub' ? await this.rateLimits.presenceIds.consume(data.userId, new Set(frame.user_ids).size) : 0;
      if (wait > 0) {
        this.metrics.markRateLimited('presence_ids');
        reply = errorFrameFor(rateLimited(wait, 'too many presence subscriptions by this user'), frame.ref);
      } else {
        const renewExpiry = (expiresAt: number): void => this.tokenExpiry.extend(ws, expiresAt);
        reply = await this.handler.handle({ userId: data.userId, connectionId: data.connectionId, renewExpiry }, frame);
      }
    } catch (err) {
      if (err instanceof ChatError) {
        this.metrics.markChatServiceError(err.def);
      } else {
        this.log.error({ err, type: frame.type, ...correlationOf(frame) }, 'frame handling failed');
      }
      reply = errorFrameFor(err, frame.ref);
    }
    // The socket may have closed while we awaited: sendReply checks. The request stays in flight
    // until its reply is written (a reply waiting for drain keeps its slot).
    if (!reply) {
      done();
      return;
    }
    if (reply.type === 'ack') this.metrics.observeSendAck((performance.now() - started) / 1000);
    noteReply(ws, reply, Date.now());
    sendReply(ws, reply, this.policy, done);
  }

  private limited(ws: GatewaySocket, ref: string | undefined, limit: 'frames' | 'sends', waitMs: number, message: string): void {
    this.metrics.markRateLimited(limit);
    sendReply(ws, errorFrameFor(rateLimited(waitMs, message), ref), this.policy);
  }

  private refuse(ws: GatewaySocket, err: unknown, ref: string | undefined): void {
    this.metrics.markFrame('invalid');
    const data = ws.getUserData();
    if (recordInvalidFrame(data, Date.now(), this.limits.maxInvalidFrames, this.limits.invalidFrameWindowMs)) {
      closeSocket(ws, CloseCodes.PROTOCOL_VIOLATION);
      return;
    }
    sendReply(ws, errorFrameFor(err, ref), this.policy);
  }
}

/** Ids that tie a log line to one request: the frame's ref and, for sends, the client's message id. */
function correlationOf(frame: ClientFrame): Record<string, string> {
  return {
    ...(frame.ref !== undefined ? { ref: frame.ref } : {}),
    ...(frame.type === 'send' ? { client_msg_id: frame.client_msg_id, conversation_id: frame.conversation_id } : {}),
  };
}
