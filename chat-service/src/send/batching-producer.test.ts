import { ChatError, Errors } from '@chat/protocol';
import { createLogger } from '@chat/server/logger';
import { KafkaJSProtocolError, KafkaJSRequestTimeoutError, type Producer, type ProducerBatch, type RecordMetadata } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { CircuitBreaker } from '../resilience/circuit-breaker.js';
import { BatchingProducer } from './batching-producer.js';

/** A stand-in for one kafkajs producer: records what it was asked to write; each call's outcome is scripted. */
class FakeProducer {
  connected = false;
  disconnected = false;
  readonly written: string[] = [];
  constructor(
    readonly id: number,
    private readonly outcome: (values: string[]) => Promise<void>,
  ) {}
  async connect(): Promise<void> {
    this.connected = true;
  }
  async disconnect(): Promise<void> {
    this.disconnected = true;
  }
  async sendBatch(batch: ProducerBatch): Promise<RecordMetadata[]> {
    const values = (batch.topicMessages ?? []).flatMap((t) => t.messages.map((m) => String(m.value)));
    await this.outcome(values);
    this.written.push(...values);
    return [];
  }
}

function setup(outcomes: ((values: string[]) => Promise<void>)[], breaker = new CircuitBreaker('kafka', { failureThreshold: 100 }), opts = {}) {
  const producers: FakeProducer[] = [];
  const bp = new BatchingProducer(
    () => {
      const p = new FakeProducer(producers.length, outcomes[producers.length] ?? (async () => undefined));
      producers.push(p);
      return p as unknown as Producer;
    },
    breaker,
    createLogger('test', 'silent'),
    opts,
  );
  return { bp, producers };
}

const msg = (v: string) => ({ key: 'c1', value: v });
const soon = () => Date.now() + 5000;
const failWith = (err: Error) => async () => {
  throw err;
};
const never = () => new Promise<void>(() => undefined);
const tick = () => new Promise((r) => setImmediate(r));

describe('BatchingProducer', () => {
  it('coalesces concurrent sends into one request and answers each', async () => {
    const { bp, producers } = setup([]);
    await Promise.all(['a', 'b', 'c'].map((v) => bp.send('t', msg(v), soon())));
    expect(producers).toHaveLength(1);
    expect(producers[0]!.written).toEqual(['a', 'b', 'c']);
  });

  it("shares requests between callers but never splits one caller's group: a failed request fails whole groups only", async () => {
    const requests: string[][] = [];
    let fail = true;
    const { bp, producers } = setup(
      [
        async (values) => {
          requests.push(values);
          if (fail) {
            fail = false;
            throw new KafkaJSRequestTimeoutError('Request timed out');
          }
        },
      ],
      undefined,
      { maxBatch: 3 },
    );
    await bp.start();
    const first = bp.sendAll('t', [msg('a1'), msg('a2')], soon()).catch((e: unknown) => e);
    const second = bp.sendAll('t', [msg('b1'), msg('b2')], soon());
    const third = bp.sendAll('t', [msg('c1'), msg('c2'), msg('c3'), msg('c4')], soon());
    expect(await first).toBeInstanceOf(ChatError);
    await Promise.all([second, third]);
    // a: alone in the failed request (a + b would exceed maxBatch); b, then c alone though over maxBatch.
    expect(requests).toEqual([['a1', 'a2']]);
    expect(producers[1]!.written).toEqual(['b1', 'b2', 'c1', 'c2', 'c3', 'c4']);
  });

  it('item 14: a request holds at most maxBatchBytes of records; a group larger than that goes alone', async () => {
    const requests: string[][] = [];
    const { bp } = setup([async (values) => void requests.push(values)], undefined, { maxBatchBytes: 3 * (2 + 40) + 10 });
    await bp.start();
    // Each record: key 'c1' (2 bytes) + a 1-byte value + 40 bytes of record overhead.
    await Promise.all([
      ...['a', 'b', 'c', 'd'].map((v) => bp.send('t', msg(v), soon())),
      bp.sendAll('t', ['e', 'f', 'g', 'h'].map(msg), soon()),
      bp.send('t', msg('i'), soon()),
    ]);
    expect(requests).toEqual([['a', 'b', 'c'], ['d'], ['e', 'f', 'g', 'h'], ['i']]);
  });

  it('item 7: after a failed batch the producer is disconnected and the next batch goes to a new producer (new producer id)', async () => {
    const { bp, producers } = setup([failWith(new KafkaJSRequestTimeoutError('Request timed out'))]);
    await bp.start();
    const err = await bp.send('t', msg('a'), soon()).catch((e: unknown) => e);
    expect((err as ChatError).def).toBe(Errors.UNAVAILABLE);
    expect((err as ChatError).message).toMatch(/did not confirm the write.*retry with the same client_msg_id/);
    await bp.send('t', msg('b'), soon());
    expect(producers).toHaveLength(2);
    expect(producers[0]!.disconnected).toBe(true);
    expect(producers[1]!.connected).toBe(true);
    expect(producers[1]!.written).toEqual(['b']);
  });

  it('item 7: OUT_OF_ORDER_SEQUENCE_NUMBER and UNKNOWN_PRODUCER_ID are fatal for the producer: it is never used again', async () => {
    const outOfOrder = new KafkaJSProtocolError(Object.assign(new Error('out of order'), { type: 'OUT_OF_ORDER_SEQUENCE_NUMBER', code: 45 }));
    const unknownId = new KafkaJSProtocolError(Object.assign(new Error('unknown producer id'), { type: 'UNKNOWN_PRODUCER_ID', code: 59 }));
    const { bp, producers } = setup([failWith(outOfOrder), failWith(unknownId)]);
    await expect(bp.send('t', msg('a'), soon())).rejects.toBeInstanceOf(ChatError);
    await expect(bp.send('t', msg('b'), soon())).rejects.toBeInstanceOf(ChatError);
    await bp.send('t', msg('c'), soon());
    expect(producers.map((p) => [p.disconnected, p.written])).toEqual([
      [true, []],
      [true, []],
      [false, ['c']],
    ]);
  });

  it('item 14: a send still queued at its deadline is answered 4101 "not written" and never produced; the one in flight is answered by its deadline', async () => {
    const { bp, producers } = setup([never]);
    const t0 = Date.now();
    const inFlight = bp.send('t', msg('a'), t0 + 200).then(
      () => new ChatError(Errors.INTERNAL, 'acked'),
      (e: unknown) => e as ChatError,
    );
    await tick();
    const queued = bp.send('t', msg('b'), t0 + 100).then(
      () => new ChatError(Errors.INTERNAL, 'acked'),
      (e: unknown) => e as ChatError,
    );
    const q = await queued;
    expect(q.message).toMatch(/was not written/);
    expect(Date.now() - t0).toBeLessThan(190);
    const f = await inFlight;
    expect(f.message).toMatch(/did not confirm the write/);
    expect(Date.now() - t0).toBeLessThan(400);
    // the abandoned producer was replaced; the dropped record reaches no producer
    await bp.send('t', msg('c'), soon());
    expect(producers.flatMap((p) => p.written)).toEqual(['c']);
    expect(producers[0]!.disconnected).toBe(true);
  });

  it('item 14: the queue is bounded by count and by bytes; over a bound a send is refused at once', async () => {
    const { bp } = setup([never], undefined, { maxQueuedMessages: 2, maxQueuedBytes: 1000 });
    void bp.send('t', msg('in flight'), Date.now() + 500).catch(() => undefined);
    await tick();
    void bp.send('t', msg('q1'), Date.now() + 500).catch(() => undefined);
    void bp.send('t', msg('q2'), Date.now() + 500).catch(() => undefined);
    await expect(bp.send('t', msg('q3'), soon())).rejects.toThrow(/send queue full/);
    const { bp: small } = setup([never], undefined, { maxQueuedBytes: 100 });
    void small.send('t', msg('in flight'), Date.now() + 500).catch(() => undefined);
    await tick();
    await expect(small.send('t', msg('x'.repeat(200)), soon())).rejects.toThrow(/send queue full/);
  });

  it('item 14: the breaker opens after consecutive failed batches (sends refused at once), and a successful probe closes it', async () => {
    let now = 1_000_000;
    const breaker = new CircuitBreaker('kafka', { failureThreshold: 2, cooldownMs: 1000, now: () => now });
    const boom = failWith(new KafkaJSRequestTimeoutError('Request timed out'));
    const { bp, producers } = setup([boom, boom], breaker);
    await expect(bp.send('t', msg('a'), soon())).rejects.toThrow(/did not confirm/);
    await expect(bp.send('t', msg('b'), soon())).rejects.toThrow(/did not confirm/);
    expect(breaker.state).toBe('open');
    await expect(bp.send('t', msg('c'), soon())).rejects.toThrow(/circuit open.*was not written/);
    expect(producers).toHaveLength(2);
    now += 1000;
    await bp.send('t', msg('d'), soon());
    expect(breaker.state).toBe('closed');
    expect(producers.flatMap((p) => p.written)).toEqual(['d']);
  });
});
