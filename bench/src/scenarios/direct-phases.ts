import type { LoadFleet } from '../load/fleet.js';
import type { ClientSpec, SenderSpec, SendReply } from '../load/protocol.js';
import { mergeEncoded, summarize, type LatencySummary } from '../report/histogram.js';
import type { CpuMeter } from '../system/proc-stats.js';
import { collectStats, cpuFigures, round, waitReceived } from './common.js';

/** product / bare, two decimals; infinite when the floor measured nothing. */
export function ratio(product: number, bare: number): number {
  return bare > 0 ? round(product / bare, 2) : Number.POSITIVE_INFINITY;
}

/** `×p50 / ×p99 / ×CPU per message` of one phase against another (product/bare, or one floor against another). */
export function phaseRatios(p: Phase, base: Phase): string {
  return `×${ratio(p.latency.p50, base.latency.p50)} / ×${ratio(p.latency.p99, base.latency.p99)} / ×${ratio(p.cpuUsPerDelivered, base.cpuUsPerDelivered)}`;
}

/** One measured stretch of open-loop sends at one rate (the product's or the bare pipeline's). */
export interface Phase {
  name: string;
  rate: number;
  planned: number;
  sent: number;
  acked: number;
  /** Sends asked again after a temporary refusal (acked ones count once, timed from the first attempt). */
  retries: number;
  ackErrors: Record<string, number>;
  delivered: number;
  latency: LatencySummary;
  ack: LatencySummary;
  maxSchedulerLagMs: number;
  cpu: Record<string, number | string>;
  /** CPU of every non-load process (the pipeline's and the infrastructure's) per delivered message, µs. */
  cpuUsPerDelivered: number;
}

export interface PhasePlan {
  name: string;
  rate: number;
  durationMs: number;
}

/** Who connects where: each pair's sender and receiver on different gateway shards and load workers. */
export interface PairLayout {
  clients: (urls: string[]) => ClientSpec[][];
  senders: SenderSpec[][];
}

export function layoutPairs(senders: string[], receivers: string[], convs: string[], workers: number): PairLayout {
  const pairs = convs.length;
  const senderSpecs: SenderSpec[][] = Array.from({ length: workers }, () => []);
  const counts = Array.from({ length: workers }, () => 0);
  const placed: { worker: number; userId: string; shard: number; track?: string[] }[] = [];
  for (let i = 0; i < pairs; i++) {
    const sw = i % workers;
    const rw = (i + 1) % workers;
    senderSpecs[sw]!.push({ client: counts[sw]!++, conversationId: convs[i]! });
    placed.push({ worker: sw, userId: senders[i]!, shard: i });
    counts[rw]!++;
    placed.push({ worker: rw, userId: receivers[i]!, shard: i + 1, track: [convs[i]!] });
  }
  return {
    senders: senderSpecs,
    clients: (urls) => {
      const specs: ClientSpec[][] = Array.from({ length: workers }, () => []);
      for (const p of placed) specs[p.worker]!.push({ userId: p.userId, url: urls[p.shard % urls.length]!, ...(p.track ? { track: p.track } : {}) });
      return specs;
    },
  };
}

/** Connects every client of `layout` to `urls`; throws when any fails. */
export async function connectPairs(fleet: LoadFleet, layout: PairLayout, urls: string[], what: string): Promise<void> {
  const specs = layout.clients(urls);
  const connected = await fleet.all<'connect'>((w) => ({
    type: 'connect',
    clients: specs[w]!,
    ratePerSec: 2000,
    maxInflight: 100,
    timeoutMs: 20_000,
    gateway: true,
  }));
  const failed = connected.reduce((n, c) => n + (c?.failed ?? 0), 0);
  if (failed > 0) throw new Error(`direct: ${failed} clients failed to connect to ${what}: ${JSON.stringify(connected.map((c) => c?.failures))}`);
}

/** Runs each phase in turn: sends at its rate for its duration, waits for delivery, measures. */
export async function runPhases(
  fleet: LoadFleet,
  meter: CpuMeter,
  senders: SenderSpec[][],
  pairs: number,
  bodyBytes: number,
  plans: PhasePlan[],
  log: (msg: string) => void,
): Promise<Phase[]> {
  const phases: Phase[] = [];
  for (const { name, rate, durationMs } of plans) {
    await collectStats(fleet, true);
    meter.begin();
    const sends = (
      await fleet.all<'send'>((w) =>
        senders[w]!.length === 0
          ? undefined
          : { type: 'send', senders: senders[w]!, ratePerSec: (rate * senders[w]!.length) / pairs, durationMs, bodyBytes, ackTimeoutMs: 15_000, tag: name },
      )
    ).filter((s): s is SendReply => s !== undefined);
    const sent = sends.reduce((n, s) => n + s.sent, 0);
    await waitReceived(fleet, sent, 20_000);
    const cpu = meter.end();
    const stats = await collectStats(fleet, true);
    const ackErrors: Record<string, number> = {};
    for (const s of sends) for (const [k, v] of Object.entries(s.ackErrors)) ackErrors[k] = (ackErrors[k] ?? 0) + v;
    let systemMs = 0;
    for (const [proc, v] of Object.entries(cpu)) if (!proc.startsWith('load-')) systemMs += v.cpuMs;
    phases.push({
      name,
      rate,
      planned: sends.reduce((n, s) => n + s.planned, 0),
      sent,
      acked: sends.reduce((n, s) => n + s.acked, 0),
      retries: sends.reduce((n, s) => n + s.retries, 0),
      ackErrors,
      delivered: stats.received,
      latency: summarize(mergeEncoded(stats.latencyHists)),
      ack: summarize(mergeEncoded(sends.map((s) => s.ackHist))),
      maxSchedulerLagMs: round(Math.max(...sends.map((s) => s.maxSchedulerLagMs))),
      cpu: cpuFigures(cpu, stats.received, 'delivered message'),
      cpuUsPerDelivered: stats.received > 0 ? round((systemMs * 1000) / stats.received, 1) : 0,
    });
    log(`direct: phase ${name} done: ${JSON.stringify(phases.at(-1)?.latency)}`);
  }
  return phases;
}

/** The report's figures of measured phases, each name prefixed by `prefix`. */
export function phaseMetrics(phases: Phase[], phaseMs: number, prefix: string): Record<string, number | string> {
  const metrics: Record<string, number | string> = {};
  for (const p of phases) {
    const n = `${prefix}${p.name}`;
    metrics[`${n} @${p.rate}/s: planned/sent/acked/delivered`] = `${p.planned}/${p.sent}/${p.acked}/${p.delivered}`;
    metrics[`${n}: sends retried after a temporary refusal`] = p.retries;
    metrics[`${n}: send→deliver p50/p99/p99.9/max ms`] = `${p.latency.p50}/${p.latency.p99}/${p.latency.p999}/${p.latency.max}`;
    metrics[`${n}: send→ack p50/p99/max ms`] = `${p.ack.p50}/${p.ack.p99}/${p.ack.max}`;
    metrics[`${n}: achieved delivered rate msg/s`] = round(p.delivered / (phaseMs / 1000), 0);
    metrics[`${n}: generator max lag ms`] = p.maxSchedulerLagMs;
    for (const [k, v] of Object.entries(p.cpu)) metrics[`${n}: ${k}`] = v;
  }
  return metrics;
}
