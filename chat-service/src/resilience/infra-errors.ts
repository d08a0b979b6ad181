import { ChatError, Errors } from '@chat/protocol';

/** Node socket errors: whoever was being called is unreachable. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

/** ioredis: retries exhausted, connection closed, command timeout, offline queue disabled. */
const REDIS_NAMES = new Set(['MaxRetriesPerRequestError']);
const REDIS_MESSAGES = [/^Connection is closed/, /^Command timed out/, /Stream isn't writeable/, /^Reached the max retries per request limit/];

/** cassandra-driver: no host, client-side timeout, pool exhausted. */
const CASSANDRA_NAMES = new Set(['NoHostAvailableError', 'OperationTimedOutError', 'BusyConnectionError']);
/** cassandra-driver ResponseError codes: unavailable, overloaded, bootstrapping, read/write timeout and failure. */
const CASSANDRA_RESPONSE_CODES = new Set([0x1000, 0x1001, 0x1002, 0x1100, 0x1200, 0x1300, 0x1500]);

/**
 * Whether `err` says a dependency (Redis, Cassandra, Kafka, the network) is down or too slow,
 * as opposed to a bug or a refused request. These are answered 4101 UNAVAILABLE (retry), not
 * 4102 INTERNAL, and count against that dependency's circuit breaker.
 */
export function isInfrastructureError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (err instanceof ChatError) return err.def === Errors.UNAVAILABLE;
  const { code } = err as { code?: unknown };
  if (typeof code === 'string' && NETWORK_CODES.has(code)) return true;
  if (REDIS_NAMES.has(err.name) || REDIS_MESSAGES.some((re) => re.test(err.message))) return true;
  if (CASSANDRA_NAMES.has(err.name)) return true;
  if (err.name === 'ResponseError' && typeof code === 'number' && CASSANDRA_RESPONSE_CODES.has(code)) return true;
  // kafkajs: every client error class is named KafkaJS*; a failing Kafka is unavailability for the caller.
  if (err.name.startsWith('KafkaJS')) return true;
  return false;
}

/**
 * The one mapping from any thrown value to what a caller is told: a ChatError as is, an
 * infrastructure error as 4101 UNAVAILABLE (retry), anything else as 4102 INTERNAL.
 */
export function toChatError(err: unknown): ChatError {
  if (err instanceof ChatError) return err;
  if (isInfrastructureError(err)) return new ChatError(Errors.UNAVAILABLE);
  return new ChatError(Errors.INTERNAL);
}
