import type { ErrorDef } from '@chat/protocol';
import { COUNT_BUCKETS, counter, type createMetricsRegistry, gauge, histogram, latency } from '@chat/server/metrics';

/** prom-client's Registry, named through shared so the gateway has no direct prom-client dependency. */
export type MetricsRegistry = ReturnType<typeof createMetricsRegistry>;

export type RejectReason = 'unauthorized' | 'origin' | 'too_many_connections' | 'draining' | 'aborted' | 'unavailable' | 'rate_limited';

/** Which limit refused a request (see gateway-rate-limits.ts and frame-rate.ts). */
export type LimitName = 'frames' | 'sends' | 'in_flight' | 'presence_ids' | 'upgrades';

/** What the gateway counts, as domain verbs. */
export interface GatewayMetrics {
  markConnection(): void;
  /** `code` is the WebSocket close code the close handler saw. */
  markDisconnect(code: number): void;
  /** A client frame by validated type, or 'invalid'. */
  markFrame(type: string): void;
  markRejectedUpgrade(reason: RejectReason): void;
  /** Frames handed to local sockets from the delivery channel. */
  markDelivered(sockets: number): void;
  /**
   * One delivery of `messages` frames written to its local sockets: how many sockets, how long the
   * writes took, and when the sequencer published it (epoch ms; undefined for deliveries that carry
   * no time). Observed per message, so a delivery of several counts as that many.
   */
  observeFanout(sockets: number, seconds: number, sequencedAtMs: number | undefined, messages: number): void;
  /** A send answered with an ack, `seconds` after the frame arrived. */
  observeSendAck(seconds: number): void;
  markChatServiceError(def: ErrorDef): void;
  /** A request or upgrade refused with RATE_LIMITED by `limit`. */
  markRateLimited(limit: LimitName): void;
  /** A socket became a slow consumer (its send buffer was full; it is closed with 4400). */
  markSlowConsumer(): void;
  /** The delivery subscription reconnected (events may have been lost; local clients were told to sync). */
  markDeliveryResubscribed(): void;
}

export class NoopGatewayMetrics implements GatewayMetrics {
  markConnection(): void {}
  markDisconnect(): void {}
  markFrame(): void {}
  markRejectedUpgrade(): void {}
  markDelivered(): void {}
  observeFanout(): void {}
  observeSendAck(): void {}
  markChatServiceError(): void {}
  markRateLimited(): void {}
  markSlowConsumer(): void {}
  markDeliveryResubscribed(): void {}
}

export class PromGatewayMetrics implements GatewayMetrics {
  private readonly connections;
  private readonly opened;
  private readonly closed;
  private readonly frames;
  private readonly rejected;
  private readonly delivered;
  private readonly chatErrors;
  private readonly limited;
  private readonly slow;
  private readonly resubscribed;
  private readonly sendAck;
  private readonly fanoutSockets;
  private readonly fanoutSeconds;
  private readonly sequencedToDelivered;

  constructor(registry: MetricsRegistry) {
    this.connections = gauge(registry, 'chat_gateway_connections', 'Open WebSocket connections on this gateway.');
    this.opened = counter(registry, 'chat_gateway_connections_opened_total', 'WebSocket connections opened.');
    this.closed = counter(registry, 'chat_gateway_connections_closed_total', 'WebSocket connections closed, by close code.', ['code']);
    this.frames = counter(registry, 'chat_gateway_client_frames_total', 'Client frames received, by type.', ['type']);
    this.rejected = counter(registry, 'chat_gateway_upgrades_rejected_total', 'Upgrade requests refused, by reason.', ['reason']);
    this.delivered = counter(registry, 'chat_gateway_delivered_frames_total', 'Frames delivered to local sockets from the delivery channel.');
    this.chatErrors = counter(registry, 'chat_gateway_chat_service_errors_total', 'Errors replied by or reaching chat-service.', ['name']);
    this.resubscribed = counter(registry, 'chat_gateway_delivery_resubscribed_total', 'Reconnects of the delivery subscription (clients told to sync).');
    this.limited = counter(registry, 'chat_gateway_rate_limited_total', 'Requests and upgrades refused with rate_limited, by limit.', ['limit']);
    this.slow = counter(registry, 'chat_gateway_slow_consumers_total', 'Sockets that became slow consumers (send buffer full; closed with 4400).');
    this.sendAck = latency(registry, 'chat_gateway_send_ack_seconds', "From a send frame's arrival to its ack (chat-service and Kafka acks=all included).");
    this.fanoutSockets = histogram(registry, 'chat_gateway_fanout_sockets', 'Local sockets one message of a delivery was written to.', COUNT_BUCKETS);
    this.fanoutSeconds = latency(
      registry,
      'chat_gateway_fanout_seconds',
      "Time to write one message of a delivery to its local sockets (a delivery's time shared by its messages).",
    );
    this.sequencedToDelivered = latency(
      registry,
      'chat_sequenced_to_delivered_seconds',
      "From the sequencer publishing a stored message to a gateway writing it to sockets (hosts' clocks included).",
    );
  }

  markConnection(): void {
    this.connections.inc();
    this.opened.inc();
  }

  markDisconnect(code: number): void {
    this.connections.dec();
    this.closed.inc({ code: String(code) });
  }

  markFrame(type: string): void {
    this.frames.inc({ type });
  }

  markRejectedUpgrade(reason: RejectReason): void {
    this.rejected.inc({ reason });
  }

  markDelivered(sockets: number): void {
    this.delivered.inc(sockets);
  }

  observeFanout(sockets: number, seconds: number, sequencedAtMs: number | undefined, messages: number): void {
    const sinceSequenced = sequencedAtMs === undefined ? undefined : Math.max(0, Date.now() - sequencedAtMs) / 1000;
    for (let i = 0; i < messages; i++) {
      this.fanoutSockets.observe(sockets);
      this.fanoutSeconds.observe(seconds / messages);
      if (sinceSequenced !== undefined) this.sequencedToDelivered.observe(sinceSequenced);
    }
  }

  observeSendAck(seconds: number): void {
    this.sendAck.observe(seconds);
  }

  markChatServiceError(def: ErrorDef): void {
    this.chatErrors.inc({ name: def.name });
  }

  markRateLimited(limit: LimitName): void {
    this.limited.inc({ limit });
  }

  markSlowConsumer(): void {
    this.slow.inc();
  }

  markDeliveryResubscribed(): void {
    this.resubscribed.inc();
  }
}
