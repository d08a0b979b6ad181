import { ChatError, CloseCodes, Errors, decodeFrame, parseClientFrame, refOf, type ClientFrame, type Logger, type ServerFrame } from '@chat/shared';
import { errorFrame, errorFrameFor } from './error-frames.js';
import { FrameHandler } from './frame-handler.js';
import type { GatewayMetrics } from './gateway-metrics.js';
import type { ResolvedGatewayOptions } from './gateway-options.js';
import { recordInvalidFrame } from './invalid-frames.js';
import type { GatewaySocket } from './socket-data.js';
import { closeSocket, sendFrame } from './socket-sender.js';

type Limits = Pick<
  ResolvedGatewayOptions,
  'maxFrameBytes' | 'maxBodyBytes' | 'maxBackpressureBytes' | 'maxInvalidFrames' | 'invalidFrameWindowMs' | 'maxInflightPerSocket'
>;

/**
 * The uWS `message` handler: size check, decode, validate, dispatch, reply. Nothing a client
 * sends can throw out of here; invalid frames get an `error` frame echoing `ref` and the socket
 * stays open until it sends `maxInvalidFrames` of them within a window.
 */
export class ClientMessages {
  constructor(
    private readonly handler: FrameHandler,
    private readonly metrics: GatewayMetrics,
    private readonly log: Logger,
    private readonly limits: Limits,
  ) {}

  onMessage(ws: GatewaySocket, message: ArrayBuffer, isBinary: boolean): void {
    const data = ws.getUserData();
    if (data.closed) return;
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
    const remote = FrameHandler.isRemote(frame);
    if (remote) {
      if (data.inflight >= this.limits.maxInflightPerSocket) {
        sendFrame(ws, errorFrame(Errors.RATE_LIMITED, frame.ref, 'too many requests in flight on this connection'), this.limits.maxBackpressureBytes);
        return;
      }
      data.inflight++;
    }
    void this.dispatch(ws, frame, remote);
  }

  private async dispatch(ws: GatewaySocket, frame: ClientFrame, remote: boolean): Promise<void> {
    const data = ws.getUserData();
    let reply: ServerFrame | undefined;
    try {
      reply = await this.handler.handle({ userId: data.userId, connectionId: data.connectionId }, frame);
    } catch (err) {
      if (err instanceof ChatError) {
        this.metrics.markChatServiceError(err.def);
      } else {
        this.log.error({ err: (err as Error).message, type: frame.type }, 'frame handling failed');
      }
      reply = errorFrameFor(err, frame.ref);
    } finally {
      if (remote) data.inflight--;
    }
    // The socket may have closed while we awaited: sendFrame checks the flag.
    if (reply) sendFrame(ws, reply, this.limits.maxBackpressureBytes);
  }

  private refuse(ws: GatewaySocket, err: unknown, ref: string | undefined): void {
    this.metrics.markFrame('invalid');
    const data = ws.getUserData();
    if (recordInvalidFrame(data, Date.now(), this.limits.maxInvalidFrames, this.limits.invalidFrameWindowMs)) {
      closeSocket(ws, CloseCodes.PROTOCOL_VIOLATION);
      return;
    }
    sendFrame(ws, errorFrameFor(err, ref), this.limits.maxBackpressureBytes);
  }
}
