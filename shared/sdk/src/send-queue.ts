import type { AckFrame, SendFrame } from '@chat/protocol';
import { fullJitterDelay, type BackoffOptions } from './backoff.js';
import type { Connection } from './connection.js';
import { deferred, type Deferred } from './deferred.js';
import { ChatConnectionError, ChatRequestError, retryDelay } from './errors.js';
import { Outbox } from './outbox.js';
import type { RequestTracker } from './request-tracker.js';
import type { Scheduler } from './scheduler.js';

export interface SendQueueOptions {
  /** Time to wait for a send's ack before retransmitting it. */
  ackTimeoutMs: number;
  /** Transmissions of one send (timeouts and temporary errors; disconnects do not count). */
  maxSendAttempts: number;
  /** Sends transmitted and not yet answered at once; later ones wait in the outbox, in order. */
  maxSendsInFlight: number;
  retryBackoff: BackoffOptions;
}

/**
 * Sends until acked: each stays in the outbox with its client_msg_id and is transmitted again
 * after reconnects, ack timeouts and temporary errors (the server dedups by that id, G5). At most
 * `maxSendsInFlight` are transmitted at once, below the gateway's per-connection limit: a faster
 * sender's messages wait here, in order, instead of being refused and spending their attempts.
 */
export class SendQueue {
  private readonly outbox = new Outbox();
  private readonly waiters = new Map<string, Deferred<AckFrame>>();

  constructor(
    private readonly connection: Connection,
    private readonly tracker: RequestTracker,
    private readonly scheduler: Scheduler,
    private readonly o: SendQueueOptions,
  ) {}

  /** Queues a send (or joins the pending one with the same client_msg_id) and transmits when connected. */
  add(conversationId: string, body: string, clientMsgId: string, attachmentIds: readonly string[] = []): Promise<AckFrame> {
    const existing = this.waiters.get(clientMsgId);
    if (existing) return existing.promise;
    const d = deferred<AckFrame>();
    this.waiters.set(clientMsgId, d);
    this.outbox.add(conversationId, body, clientMsgId, attachmentIds);
    this.flush();
    return d.promise;
  }

  /** Unacked sends, oldest first. */
  pending(): { clientMsgId: string; conversationId: string; body: string; attachmentIds: readonly string[] }[] {
    return this.outbox.list().map((i) => ({ clientMsgId: i.clientMsgId, conversationId: i.conversationId, body: i.body, attachmentIds: i.attachmentIds }));
  }

  /** Transmits every send waiting for a connection or a retry; a no-op while not connected. */
  flush(): void {
    if (!this.connection.isReady()) return;
    for (const item of this.outbox.unsent(this.o.maxSendsInFlight - this.outbox.inFlight)) {
      const ref = this.tracker.nextRef();
      const frame: SendFrame = {
        type: 'send',
        ref,
        conversation_id: item.conversationId,
        client_msg_id: item.clientMsgId,
        body: item.body,
        ...(item.attachmentIds.length > 0 ? { attachment_ids: [...item.attachmentIds] } : {}),
      };
      const clientMsgId = item.clientMsgId;
      this.tracker.track(frame, { timeoutMs: this.o.ackTimeoutMs, resendOnReconnect: false }).then(
        (reply) => {
          if (reply.type === 'ack') this.complete(clientMsgId, reply);
        },
        (err: Error) => this.onFailure(clientMsgId, ref, err),
      );
      this.outbox.markSent(clientMsgId, ref);
      if (this.connection.transmit(frame)) {
        this.tracker.markSent(ref);
      } else {
        // The socket is going away: drop this transmission; the item is resent after reconnecting.
        this.tracker.reject(ref, new ChatConnectionError('websocket not writable'));
        this.outbox.unmark(clientMsgId);
      }
    }
  }

  onAck(frame: AckFrame): void {
    if (this.tracker.resolve(frame.ref, frame)) return;
    // An ack of an earlier transmission (e.g. one that timed out): settle by client_msg_id.
    const item = this.outbox.get(frame.client_msg_id);
    if (item && item.conversationId === frame.conversation_id) this.complete(frame.client_msg_id, frame);
  }

  /** Stops retrying a send; its promise rejects with `err`. False when it is not pending. */
  fail(clientMsgId: string, err: Error): boolean {
    const item = this.outbox.settle(clientMsgId);
    if (!item) return false;
    if (item.ref !== undefined) this.tracker.reject(item.ref, new ChatConnectionError('send cancelled'));
    const d = this.waiters.get(clientMsgId);
    this.waiters.delete(clientMsgId);
    d?.reject(err);
    this.flush(); // its slot is free
    return true;
  }

  /** The connection is gone: every pending send waits for the next one. */
  connectionLost(): void {
    this.outbox.connectionLost();
  }

  /** Closed for good: every pending send rejects with `err`. */
  rejectAll(err: Error): void {
    for (const item of this.outbox.drain()) {
      this.waiters.get(item.clientMsgId)?.reject(err);
      this.waiters.delete(item.clientMsgId);
    }
  }

  private complete(clientMsgId: string, ack: AckFrame): void {
    const item = this.outbox.settle(clientMsgId);
    if (!item) return;
    if (item.ref !== undefined) this.tracker.reject(item.ref, new ChatConnectionError('superseded by an earlier ack'));
    const d = this.waiters.get(clientMsgId);
    this.waiters.delete(clientMsgId);
    d?.resolve(ack);
    this.flush(); // its slot is free
  }

  private onFailure(clientMsgId: string, ref: string, err: Error): void {
    const item = this.outbox.get(clientMsgId);
    if (!item || item.ref !== ref) return; // settled, or a stale transmission
    if (err instanceof ChatConnectionError) {
      // The socket refused the frame; it is resent after the reconnect that follows.
      return;
    }
    if (err instanceof ChatRequestError && !err.retry) {
      this.fail(clientMsgId, err);
      return;
    }
    const retrying = this.outbox.markRetrying(clientMsgId);
    if (!retrying) return;
    if (retrying.attempts >= this.o.maxSendAttempts) {
      this.fail(clientMsgId, err);
      return;
    }
    this.flush(); // its slot is free while it waits
    this.scheduler.schedule(
      () => {
        this.outbox.markReady(clientMsgId);
        this.flush();
      },
      retryDelay(err, fullJitterDelay(retrying.attempts - 1, this.o.retryBackoff)),
    );
  }
}
