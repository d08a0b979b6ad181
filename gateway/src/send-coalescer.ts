import { ChatError, Errors, MAX_SEND_BATCH, type InternalSendRequest, type InternalSendResponse, type InternalSendResult } from '@chat/shared';
import { chatErrorFromBody } from './internal-http.js';

interface Waiting {
  request: InternalSendRequest;
  resolve: (res: InternalSendResponse) => void;
  reject: (err: unknown) => void;
}

/**
 * Coalesces the sends of all sockets into batch requests to chat-service: what arrives in one
 * event-loop turn, or while `maxInFlight` batches are already out, goes in the next batch. Idle
 * sends leave at once (no timer); under load one HTTP request carries many sends. Each caller
 * gets its own result or its own ChatError.
 */
export class SendCoalescer {
  private queue: Waiting[] = [];
  private inFlight = 0;
  private scheduled = false;

  constructor(
    private readonly sendBatch: (requests: InternalSendRequest[]) => Promise<InternalSendResult[]>,
    private readonly maxInFlight = 8,
  ) {}

  send(request: InternalSendRequest): Promise<InternalSendResponse> {
    return new Promise((resolve, reject) => {
      this.queue.push({ request, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight >= this.maxInFlight || this.queue.length === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  private async flush(): Promise<void> {
    const batch = this.queue.splice(0, MAX_SEND_BATCH);
    if (batch.length === 0) return;
    this.inFlight++;
    this.schedule(); // more than one batch's worth waiting: start the next one too
    try {
      const results = await this.sendBatch(batch.map((w) => w.request));
      batch.forEach((w, i) => {
        const r = results[i];
        if (r && 'ok' in r) w.resolve(r.ok);
        else if (r) w.reject(chatErrorFromBody(r.error.retry ? 503 : 400, r, 'chat-service'));
        else w.reject(new ChatError(Errors.INTERNAL, 'chat-service sent an incomplete batch reply'));
      });
    } catch (err) {
      for (const w of batch) w.reject(err);
    } finally {
      this.inFlight--;
      this.schedule();
    }
  }
}
