import { ChatError, Errors } from '@chat/protocol';
import type { CircuitBreaker } from './circuit-breaker.js';
import { isInfrastructureError } from './infra-errors.js';

/**
 * `target` with every method call run through `breaker`: refused at once with 4101 while the
 * breaker is open, and infrastructure errors reported to it. Use it on a store that talks to one
 * dependency (a Redis store, a Cassandra store). Every public method of `target` must be async.
 */
export function guardedBy<T extends object>(target: T, breaker: CircuitBreaker): T {
  const refusal = () => new ChatError(Errors.UNAVAILABLE, `${breaker.name} unavailable (failing repeatedly; circuit open); retry later`);
  return new Proxy(target, {
    get(obj, prop, receiver) {
      const value: unknown = Reflect.get(obj, prop, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => breaker.run(async () => (await Reflect.apply(value, obj, args)) as unknown, isInfrastructureError, refusal);
    },
  });
}
