import type { EverythingNew } from '@chat/protocol';
import {
  INTERNAL_PATHS,
  type HistoryPage,
  type InternalInboxRequest,
  type InternalHistoryRequest,
  type InternalSendBatchRequest,
  type InternalLatestRequest,
  type InternalLatestResponse,
  type InternalReadRequest,
  type InternalReadResponse,
  type InternalSendBatchResponse,
  type InternalSendRequest,
  type InternalSendResponse,
  type InternalSyncBatchRequest,
  type InternalSyncBatchResponse,
  type InternalSyncRequest,
  type InternalSyncResponse,
  MAX_SYNC_BATCH,
  MAX_SYNC_BATCH_POSITIONS,
} from '@chat/protocol/internal';
import { envDefault } from '@chat/server/config';
import { BatchQueue } from './batch-queue.js';
import { InternalHttp, batchItemResult } from './internal-http.js';
import { SendCoalescer } from './send-coalescer.js';

/**
 * chat-service's internal API as the gateway sees it. `user_id` is always the verified token
 * subject. Every method either resolves with the reply body or rejects with a ChatError carrying
 * a registry code: chat-service's own error (same code, name and retry flag), or
 * Errors.UNAVAILABLE (retry) when chat-service cannot be reached or times out.
 */
export interface ChatServiceClient {
  send(req: InternalSendRequest): Promise<InternalSendResponse>;
  sync(req: InternalSyncRequest): Promise<InternalSyncResponse>;
  history(req: InternalHistoryRequest): Promise<HistoryPage>;
  /** Latest seq and epoch of conversations (≤ MAX_LATEST_CONVERSATIONS); unknown ones are left out. */
  latest(req: InternalLatestRequest): Promise<InternalLatestResponse>;
  /** Stores a read position (monotonic) and broadcasts the receipt. */
  read(req: InternalReadRequest): Promise<InternalReadResponse>;
  /** "Everything new for me", one page (byte-budgeted with max_bytes). */
  inbox(req: InternalInboxRequest): Promise<EverythingNew>;
  close(): Promise<void>;
}

export interface HttpChatServiceClientOptions {
  /** Base URL, e.g. http://127.0.0.1:8080 */
  url: string;
  /** Sent as INTERNAL_TOKEN_HEADER. */
  internalToken: string;
  /** Headers and body timeout per request. @default 10000 */
  timeoutMs?: number;
  /** Keep-alive connections of the send pool. @default 64 */
  connections?: number;
  /** Every send is answered within this long. @default SEND_DEADLINE_MS's default */
  sendDeadlineMs?: number;
  /** Bytes of sends queued or in flight before new sends are refused. @default GATEWAY_SEND_QUEUE_MAX_BYTES's default */
  maxQueuedSendBytes?: number;
  /** Sync batches out at once; the rest wait. @default GATEWAY_SYNC_BATCHES_IN_FLIGHT's default */
  syncBatchesInFlight?: number;
  /** Longest a sync waits to be sent before it is refused. @default GATEWAY_SYNC_QUEUE_TIMEOUT_MS's default */
  syncQueueTimeoutMs?: number;
}

/** Syncs waiting at once, beyond which new ones are refused at once (a few MiB). */
const MAX_WAITING_SYNCS = 20_000;

/** ChatServiceClient over HTTP/1.1 keep-alive (undici Pool) with JSON bodies; concurrent sends travel in batches. */
export class HttpChatServiceClient implements ChatServiceClient {
  /** Reads (sync, history) have connections of their own: a storm of resumes never queues sends behind it. */
  private readonly reads: InternalHttp;
  private readonly syncs: BatchQueue<InternalSyncRequest, InternalSyncResponse>;
  private readonly writes: InternalHttp;
  private readonly sends: SendCoalescer;

  constructor(opts: HttpChatServiceClientOptions) {
    const pool = {
      url: opts.url,
      internalToken: opts.internalToken,
      service: 'chat-service',
      timeoutMs: opts.timeoutMs ?? 10_000,
      connections: opts.connections ?? 64,
    };
    this.reads = new InternalHttp(pool);
    // Resumes arrive in storms: they travel in batches (chat-service reads each conversation once
    // per batch) and wait here, in order and before their HTTP timeout starts, while the batches
    // in flight are answered.
    this.syncs = new BatchQueue<InternalSyncRequest, InternalSyncResponse>(
      async (requests) => {
        const body: InternalSyncBatchRequest = { requests };
        const reply = await this.reads.post<InternalSyncBatchResponse>(INTERNAL_PATHS.syncBatch, body);
        const results = Array.isArray(reply.results) ? reply.results : [];
        return requests.map((_, i) => batchItemResult(results[i], 'chat-service'));
      },
      {
        maxInFlight: opts.syncBatchesInFlight ?? envDefault('GATEWAY_SYNC_BATCHES_IN_FLIGHT'),
        maxBatchWeight: MAX_SYNC_BATCH,
        // At most MAX_SYNC_BATCH syncs and MAX_SYNC_BATCH_POSITIONS positions per batch.
        weight: (r) => Math.max(1, (r.positions.length * MAX_SYNC_BATCH) / MAX_SYNC_BATCH_POSITIONS),
        queueTimeoutMs: opts.syncQueueTimeoutMs ?? envDefault('GATEWAY_SYNC_QUEUE_TIMEOUT_MS'),
        maxWaiting: MAX_WAITING_SYNCS,
        service: 'chat-service',
      },
    );
    this.writes = new InternalHttp(pool);
    const deadlineMs = opts.sendDeadlineMs ?? envDefault('SEND_DEADLINE_MS');
    this.sends = new SendCoalescer(
      async (requests, budgetMs) => {
        // chat-service answers within budgetMs; the request is abandoned shortly after (each send's
        // own deadline has answered its caller by then).
        const body: InternalSendBatchRequest = { requests, budget_ms: budgetMs };
        const reply = await this.writes.post<InternalSendBatchResponse>(INTERNAL_PATHS.sendBatch, body, budgetMs + 1000);
        return Array.isArray(reply.results) ? reply.results : [];
      },
      { deadlineMs, maxQueuedBytes: opts.maxQueuedSendBytes ?? envDefault('GATEWAY_SEND_QUEUE_MAX_BYTES') },
    );
  }

  send(req: InternalSendRequest): Promise<InternalSendResponse> {
    return this.sends.send(req);
  }

  sync(req: InternalSyncRequest): Promise<InternalSyncResponse> {
    return this.syncs.submit(req);
  }

  history(req: InternalHistoryRequest): Promise<HistoryPage> {
    return this.reads.post<HistoryPage>(INTERNAL_PATHS.history, req);
  }

  latest(req: InternalLatestRequest): Promise<InternalLatestResponse> {
    return this.reads.post<InternalLatestResponse>(INTERNAL_PATHS.latest, req);
  }

  read(req: InternalReadRequest): Promise<InternalReadResponse> {
    return this.reads.post<InternalReadResponse>(INTERNAL_PATHS.read, req);
  }

  inbox(req: InternalInboxRequest): Promise<EverythingNew> {
    return this.reads.post<EverythingNew>(INTERNAL_PATHS.inbox, req);
  }

  async close(): Promise<void> {
    await Promise.all([this.reads.close(), this.writes.close()]);
  }
}
