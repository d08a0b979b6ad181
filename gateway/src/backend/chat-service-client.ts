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
  type InternalSyncRequest,
  type InternalSyncResponse,
} from '@chat/protocol/internal';
import { envDefault } from '@chat/server/config';
import { InternalHttp } from './internal-http.js';
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
  /** Keep-alive connections in the pool. @default 64 */
  connections?: number;
  /** Every send is answered within this long. @default SEND_DEADLINE_MS's default */
  sendDeadlineMs?: number;
  /** Bytes of sends queued or in flight before new sends are refused. @default GATEWAY_SEND_QUEUE_MAX_BYTES's default */
  maxQueuedSendBytes?: number;
}

/** ChatServiceClient over HTTP/1.1 keep-alive (undici Pool) with JSON bodies; concurrent sends travel in batches. */
export class HttpChatServiceClient implements ChatServiceClient {
  /** Reads (sync, history) have connections of their own: a storm of resumes never queues sends behind it. */
  private readonly reads: InternalHttp;
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
    // Resumes arrive in storms and chat-service shares their storage reads (CoalescingMessageStore):
    // more concurrent reads mean more sharing, so reads get more connections than sends.
    this.reads = new InternalHttp({ ...pool, connections: pool.connections * 4 });
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
    return this.reads.post<InternalSyncResponse>(INTERNAL_PATHS.sync, req);
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
