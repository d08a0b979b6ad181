/** IPC between the coordinator and load-generator workers. Every request carries `id`; the reply echoes it. */

export interface ClientSpec {
  /** Index of this client inside the worker (stable across reconnects). */
  userId: string;
  url: string;
  /** Conversations this client tracks (seq gaps, duplicates, resume positions). */
  track?: string[];
}

export interface SenderSpec {
  /** Index into the worker's clients. */
  client: number;
  conversationId: string;
}

export type WorkerRequest =
  | { id: number; type: 'connect'; clients: ClientSpec[]; ratePerSec: number; maxInflight: number; timeoutMs: number; gateway: boolean }
  | { id: number; type: 'send'; senders: SenderSpec[]; ratePerSec: number; durationMs: number; bodyBytes: number; ackTimeoutMs: number; tag: string }
  | { id: number; type: 'hold'; durationMs: number; pingIntervalMs: number }
  | { id: number; type: 'stats'; reset: boolean; perMessage: boolean }
  | { id: number; type: 'storm'; clients: number[]; ratePerSec: number; maxInflight: number; timeoutMs: number }
  | { id: number; type: 'expectation'; finalSeq: Record<string, number> }
  | { id: number; type: 'close' };

export interface ConnectReply {
  ok: number;
  failed: number;
  failures: Record<string, number>;
  connectHist: string;
  /** Connections completed (hello received) per second since the request started. */
  perSecond: number[];
  elapsedMs: number;
}

export interface SendReply {
  planned: number;
  sent: number;
  acked: number;
  ackErrors: Record<string, number>;
  ackTimeouts: number;
  /** Sends asked again (same client_msg_id) after a temporary refusal; acks and latency count from the first attempt. */
  retries: number;
  ackHist: string;
  /** Worst lag of the scheduler behind the plan (ms): a large value means the generator was the bottleneck. */
  maxSchedulerLagMs: number;
  startedAt: number;
  endedAt: number;
}

export interface HoldReply {
  pingsSent: number;
  pongs: number;
  pingHist: string;
}

export interface StatsReply {
  received: number;
  /** Live `message` frames with a latency stamp. */
  latencyHist: string;
  /** Messages received through sync.result (resume). */
  synced: number;
  duplicates: number;
  outOfOrder: number;
  unexpectedCloses: number;
  closeCodes: Record<string, number>;
  openClients: number;
  /** Per message key (`tag:k`): [deliveries, max latency ms, first receive, last receive]. */
  perMessage?: Record<string, [number, number, number, number]>;
  firstReceiveAt: number;
  lastReceiveAt: number;
  cpuUserMs: number;
  cpuSystemMs: number;
  rssBytes: number;
  maxRssBytes: number;
}

export interface StormReply {
  reconnected: number;
  resumed: number;
  resyncRequired: number;
  /** Syncs asked again after a temporary refusal. */
  syncRetries: number;
  failed: number;
  failures: Record<string, number>;
  /** Time from the drop until the last client had its sync.result applied (ms). */
  allResumedMs: number;
  resumeHist: string;
  perSecond: number[];
}

export interface ExpectationReply {
  clientsChecked: number;
  clientsWithGap: number;
  missing: number;
}

export type WorkerReply =
  | { id: number; type: 'connect'; result: ConnectReply }
  | { id: number; type: 'send'; result: SendReply }
  | { id: number; type: 'hold'; result: HoldReply }
  | { id: number; type: 'stats'; result: StatsReply }
  | { id: number; type: 'storm'; result: StormReply }
  | { id: number; type: 'expectation'; result: ExpectationReply }
  | { id: number; type: 'close'; result: { closed: number } }
  | { id: number; type: 'error'; message: string };

/** Body of every benchmark message: planned send time (ms since epoch, sub-ms), tag and index. */
export interface StampedBody {
  t: number;
  g: string;
  k: number;
  p?: string;
}
