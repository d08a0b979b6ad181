import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Every metric this system defines starts with it, so one selector finds them all (the Node.js
 * process metrics keep their standard `process_` / `nodejs_` names). The helpers below refuse
 * any other name when the process starts.
 */
export const METRIC_PREFIX = 'chat_';

export type { Registry as MetricsRegistry };

/** A registry with process metrics, one per service process. */
export function createMetricsRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  return registry;
}

function named(name: string): string {
  if (!name.startsWith(METRIC_PREFIX)) throw new Error(`metric ${name} must start with ${METRIC_PREFIX}`);
  return name;
}

export function counter<L extends string>(registry: Registry, name: string, help: string, labelNames: readonly L[] = []): Counter<L> {
  return new Counter({ name: named(name), help, labelNames, registers: [registry] });
}

export function gauge<L extends string>(registry: Registry, name: string, help: string, labelNames: readonly L[] = []): Gauge<L> {
  return new Gauge({ name: named(name), help, labelNames, registers: [registry] });
}

/** Seconds from 0.5 ms to 10 s: request and pipeline latencies. */
export const SECONDS_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Counts from 1 to 10,000: fanout of one message. */
export const COUNT_BUCKETS = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000];

/** Latency histogram in seconds (SECONDS_BUCKETS); the name ends in `_seconds`. */
export function latency<L extends string>(registry: Registry, name: string, help: string, labelNames: readonly L[] = []): Histogram<L> {
  if (!name.endsWith('_seconds')) throw new Error(`latency metric ${name} must end in _seconds`);
  return histogram(registry, name, help, SECONDS_BUCKETS, labelNames);
}

export function histogram<L extends string>(registry: Registry, name: string, help: string, buckets: number[], labelNames: readonly L[] = []): Histogram<L> {
  return new Histogram({ name: named(name), help, labelNames, buckets, registers: [registry] });
}

/** The metric if this registry has it already (several components of one process share one), else a new one. */
export function shared<M>(registry: Registry, name: string, create: () => M): M {
  return (registry.getSingleMetric(name) as M | undefined) ?? create();
}
