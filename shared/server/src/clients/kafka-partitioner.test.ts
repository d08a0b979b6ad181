import { randomBytes, randomInt } from 'node:crypto';
import { Partitioners, type PartitionMetadata } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { keyHashPartitioner, murmur2 } from './kafka-partitioner.js';

const metadata = (n: number): PartitionMetadata[] =>
  Array.from({ length: n }, (_, partitionId) => ({ partitionId, leader: 0, replicas: [0], isr: [0], partitionErrorCode: 0 }));

function randomKey(): string | Buffer {
  switch (randomInt(4)) {
    case 0:
      return String(randomInt(2 ** 47)) + String(randomInt(2 ** 20)); // ids as the product keys records
    case 1:
      return randomBytes(randomInt(40)).toString('base64').slice(0, randomInt(30));
    case 2:
      return String.fromCodePoint(...Array.from({ length: randomInt(12) }, () => randomInt(0x20, 0x2ffff) & ~0x800)); // multi-byte UTF-8
    default:
      return randomBytes(randomInt(64));
  }
}

describe('keyHashPartitioner', () => {
  it('puts every keyed record on the partition kafkajs DefaultPartitioner chooses', () => {
    const ours = keyHashPartitioner();
    const theirs = Partitioners.DefaultPartitioner();
    for (let i = 0; i < 20_000; i++) {
      const key = randomKey();
      const partitionMetadata = metadata(1 + randomInt(200));
      const args = { topic: 't', partitionMetadata, message: { key, value: 'v' } };
      expect([key, ours(args)]).toEqual([key, theirs(args)]);
    }
  });

  it('matches the Java client murmur2 on known keys', () => {
    // Values of org.apache.kafka.common.utils.Utils.murmur2 (the Java client's tests).
    expect(murmur2(Buffer.from('21'))).toBe(-973932308);
    expect(murmur2(Buffer.from('foobar'))).toBe(-790332482);
    expect(murmur2(Buffer.from('a-little-bit-long-string'))).toBe(-985981536);
    expect(murmur2(Buffer.from('a-little-bit-longer-string'))).toBe(-1486304829);
    expect(murmur2(Buffer.from('lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8'))).toBe(-58897971);
    expect(murmur2(Buffer.from([97, 98, 99]))).toBe(479470107);
  });

  it('keeps an explicit partition and spreads records without a key', () => {
    const ours = keyHashPartitioner();
    expect(ours({ topic: 't', partitionMetadata: metadata(8), message: { key: 'k', value: 'v', partition: 5 } })).toBe(5);
    const seen = new Set(Array.from({ length: 64 }, () => ours({ topic: 't', partitionMetadata: metadata(8), message: { value: 'v' } })));
    expect(seen.size).toBeGreaterThan(1);
  });
});
