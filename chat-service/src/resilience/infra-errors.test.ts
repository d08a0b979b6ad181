import { ChatError, Errors } from '@chat/protocol';
import cassandra from 'cassandra-driver';
import { Redis } from 'ioredis';
import { KafkaJSConnectionError, KafkaJSNumberOfRetriesExceeded } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { freePort } from '@chat/testing/wait';
import { toChatError } from './infra-errors.js';

describe('toChatError', () => {
  it('item 14: a Redis that cannot be reached is 4101 UNAVAILABLE (retry), not 4102', async () => {
    const redis = new Redis({ port: await freePort(), maxRetriesPerRequest: 1, retryStrategy: () => 10, lazyConnect: false });
    redis.on('error', () => undefined);
    const err = await redis.get('k').catch((e: unknown) => e);
    redis.disconnect();
    expect(toChatError(err).def).toBe(Errors.UNAVAILABLE);
    expect(toChatError(err).toJSON().retry).toBe(true);
    expect(toChatError(new Error('Connection is closed.')).def).toBe(Errors.UNAVAILABLE);
  });

  it('item 14: Cassandra and Kafka unavailability and timeouts are 4101', () => {
    const { errors } = cassandra;
    for (const err of [
      new errors.NoHostAvailableError({}),
      new errors.OperationTimedOutError('timed out'),
      new errors.ResponseError(0x1100, 'write timeout'),
      new KafkaJSConnectionError('Connection error: ECONNREFUSED'),
      new KafkaJSNumberOfRetriesExceeded(new Error('x'), { retryCount: 5, retryTime: 100 }),
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }),
    ]) {
      expect(toChatError(err).def, err.name).toBe(Errors.UNAVAILABLE);
    }
  });

  it('keeps registry errors and maps anything else to 4102', () => {
    expect(toChatError(new ChatError(Errors.NOT_MEMBER)).def).toBe(Errors.NOT_MEMBER);
    expect(toChatError(new cassandra.errors.ResponseError(0x2000, 'syntax error')).def).toBe(Errors.INTERNAL);
    expect(toChatError(new TypeError('x is undefined')).def).toBe(Errors.INTERNAL);
    expect(toChatError('a string').def).toBe(Errors.INTERNAL);
  });
});
