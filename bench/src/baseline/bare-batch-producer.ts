/**
 * Bare pipeline: the ingress server's Kafka writer. The producer has the product's settings
 * (idempotent, acks=all, one request in flight; bare-kafka.ts), so concurrent sends are coalesced
 * the way the product's send path coalesces them: while one request is in flight the next batch
 * fills up (no timer). Nothing else: no deadlines, no circuit breaker, no producer replacement; a
 * failed request fails its batch, and the benchmark reports the failures.
 */
import type { BareProducer, BareProducerRecord } from './bare-kafka.js';

interface Waiting {
  message: BareProducerRecord;
  done: (err?: Error) => void;
}

/** Most records per produce request (the product's send path uses the same bound). */
const MAX_BATCH = 1000;

export class BareBatchProducer {
  private queue: Waiting[] = [];
  private flushing = false;

  constructor(
    private readonly producer: BareProducer,
    private readonly topic: string,
  ) {}

  /** Calls `done` once Kafka acked the record (acks=all), or with the error of its failed request. */
  send(message: BareProducerRecord, done: (err?: Error) => void): void {
    this.queue.push({ message, done });
    if (!this.flushing) void this.flush();
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, MAX_BATCH);
      try {
        await this.producer.send(
          this.topic,
          batch.map((w) => w.message),
        );
        for (const w of batch) w.done();
      } catch (err) {
        for (const w of batch) w.done(err as Error);
      }
    }
    this.flushing = false;
  }
}
