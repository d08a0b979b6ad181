import { describe, expect, it } from 'vitest';
import { MAX_REQUEST_RECORD_BYTES, type BatchingProducer } from '../send/batching-producer.js';
import { partsOf, SequencedPublisher } from './sequenced-publisher.js';
import { storedMessages } from './test-messages.js';

const record = (value: string) => ({ key: 'k', value });

describe('partsOf', () => {
  it('cuts records into consecutive runs of at most maxBytes, a larger record alone', () => {
    const size = 1 + 40; // key 'k' + 40 bytes of record overhead, plus the value
    const parts = partsOf(['aa', 'bb', 'c', 'x'.repeat(200), 'd'].map(record), 2 * (size + 2));
    expect(parts.map((p) => p.map((r) => r.value))).toEqual([['aa', 'bb'], ['c'], ['x'.repeat(200)], ['d']]);
    expect(partsOf([], 100)).toEqual([]);
  });
});

describe('SequencedPublisher', () => {
  it('item 14: a chunk larger than one produce request goes in parts, each sent only once the one before is acked', async () => {
    const calls: { count: number; ack: () => void }[] = [];
    const producer = {
      sendAll: (_topic: string, messages: unknown[]) => new Promise<void>((ack) => calls.push({ count: messages.length, ack })),
    } as unknown as BatchingProducer;
    const body = 'x'.repeat(16 * 1024);
    const done = new SequencedPublisher(producer, 'chat.sequenced').publish(storedMessages(100, body));
    await Promise.resolve();
    expect(calls).toHaveLength(1); // the second part waits for the first
    const first = calls[0]!.count;
    expect(first * (16 * 1024)).toBeLessThanOrEqual(MAX_REQUEST_RECORD_BYTES);
    calls[0]!.ack();
    await new Promise((r) => setImmediate(r));
    expect(calls).toHaveLength(2);
    calls[1]!.ack();
    await done;
    expect(first + calls[1]!.count).toBe(100);
  });
});
