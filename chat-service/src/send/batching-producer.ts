import { pushTo } from '@chat/shared';
import type { Message, Producer } from 'kafkajs';

interface Waiting {
  topic: string;
  message: Message;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * Coalesces concurrent sends into one Kafka request. The idempotent producer allows one request
 * in flight, so while one batch is being written the next one fills up: no timer, no added
 * latency when idle, and throughput bound by batch size instead of round trips.
 * Each caller's promise settles only when its own message is acked (acks=all).
 */
export class BatchingProducer {
  private queue: Waiting[] = [];
  private flushing = false;

  constructor(
    private readonly producer: Producer,
    private readonly maxBatch = 1000,
  ) {}

  send(topic: string, message: Message): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ topic, message, resolve, reject });
      if (!this.flushing) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      const byTopic = new Map<string, Message[]>();
      for (const w of batch) pushTo(byTopic, w.topic, w.message);
      try {
        await this.producer.sendBatch({ acks: -1, topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })) });
        for (const w of batch) w.resolve();
      } catch (err) {
        for (const w of batch) w.reject(err);
      }
    }
    this.flushing = false;
  }
}
