import { LoadFleet } from '../load/fleet.js';
import type { ClientSpec, SenderSpec, SendReply } from '../load/protocol.js';
import { mergeEncoded, summarize, type LatencySummary } from '../report/histogram.js';
import { Rest, mapLimit } from '../system/rest.js';
import type { RunningSystem } from '../system/system-under-test.js';
import { collectStats, cpuFigures, cpuMeter, param, round, target, waitReceived, type Scenario, type ScenarioContext, startSystemFor } from './common.js';

interface Phase {
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
}

/** 1:1 messages through the full path: open-loop senders, receivers on other shards and workers. */
export const direct: Scenario = async (ctx: ScenarioContext) => {
  const pairs = param(ctx, 'pairs', 6, 500);
  const gateways = param(ctx, 'gateways', 2, 4);
  const workers = param(ctx, 'workers', 2, 4);
  const latencyRate = param(ctx, 'latencyRate', 20, 1000);
  const sustainRate = param(ctx, 'sustainRate', 40, 5000);
  const phaseMs = param(ctx, 'phaseSeconds', 3, 30) * 1000;
  // Unmeasured: JIT warm-up, connection pools, per-conversation caches and the consumer group join.
  const warmupMs = param(ctx, 'warmupSeconds', 1, 10) * 1000;
  const bodyBytes = param(ctx, 'bodyBytes', 100, 100);
  const config = { pairs, gateways, workers, latencyRate, sustainRate, phaseMs, warmupMs, bodyBytes };
  ctx.log(`direct: ${JSON.stringify(config)}`);

  let sys: RunningSystem | undefined;
  let fleet: LoadFleet | undefined;
  try {
    sys = await startSystemFor(ctx, gateways);
    const rest = new Rest(sys.chatUrl, sys.env);
    const senders = Array.from({ length: pairs }, (_, i) => `b${ctx.runId}-s${i}`);
    const receivers = Array.from({ length: pairs }, (_, i) => `b${ctx.runId}-r${i}`);
    const convs = await mapLimit(senders, 16, (s, i) => rest.createDirect(s, receivers[i]!));
    ctx.log(`direct: ${convs.length} conversations created`);

    fleet = await LoadFleet.start(workers, sys.env);
    const specs: ClientSpec[][] = Array.from({ length: workers }, () => []);
    const senderSpecs: SenderSpec[][] = Array.from({ length: workers }, () => []);
    for (let i = 0; i < pairs; i++) {
      const sw = i % workers;
      const rw = (i + 1) % workers;
      senderSpecs[sw]!.push({ client: specs[sw]!.length, conversationId: convs[i]! });
      specs[sw]!.push({ userId: senders[i]!, url: sys.gatewayUrls[i % gateways]! });
      specs[rw]!.push({ userId: receivers[i]!, url: sys.gatewayUrls[(i + 1) % gateways]!, track: [convs[i]!] });
    }
    const connected = await fleet.all<'connect'>((w) => ({
      type: 'connect',
      clients: specs[w]!,
      ratePerSec: 2000,
      maxInflight: 100,
      timeoutMs: 20_000,
      gateway: true,
    }));
    const failed = connected.reduce((n, c) => n + (c?.failed ?? 0), 0);
    if (failed > 0) throw new Error(`direct: ${failed} clients failed to connect: ${JSON.stringify(connected.map((c) => c?.failures))}`);

    const running = sys;
    const meter = cpuMeter(() => running.procs.pids(), fleet);
    const phases: Phase[] = [];
    for (const [name, rate, durationMs] of [
      ['warmup', latencyRate, warmupMs],
      ['latency', latencyRate, phaseMs],
      ['sustained', sustainRate, phaseMs],
    ] as const) {
      await collectStats(fleet, true);
      meter.begin();
      const sends = (
        await fleet.all<'send'>((w) =>
          senderSpecs[w]!.length === 0
            ? undefined
            : {
                type: 'send',
                senders: senderSpecs[w]!,
                ratePerSec: (rate * senderSpecs[w]!.length) / pairs,
                durationMs,
                bodyBytes,
                ackTimeoutMs: 15_000,
                tag: name,
              },
        )
      ).filter((s): s is SendReply => s !== undefined);
      const sent = sends.reduce((n, s) => n + s.sent, 0);
      await waitReceived(fleet, sent, 20_000);
      const cpu = meter.end();
      const stats = await collectStats(fleet, true);
      const ackErrors: Record<string, number> = {};
      for (const s of sends) for (const [k, v] of Object.entries(s.ackErrors)) ackErrors[k] = (ackErrors[k] ?? 0) + v;
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
      });
      ctx.log(`direct: phase ${name} done: ${JSON.stringify(phases.at(-1)?.latency)}`);
    }

    // Persistence: last_seq of every conversation, from the REST API (Cassandra-backed).
    const lastSeqs = await mapLimit(senders, 16, async (s, i) => (await rest.lastSeqs(s)).get(convs[i]!) ?? 0);
    const persisted = lastSeqs.reduce((a, b) => a + b, 0);
    const finalSeq = Object.fromEntries(convs.map((c, i) => [c, lastSeqs[i]!]));
    const gaps = await fleet.all<'expectation'>(() => ({ type: 'expectation', finalSeq }));
    const missing = gaps.reduce((n, g) => n + (g?.missing ?? 0), 0);
    const totalAcked = phases.reduce((n, p) => n + p.acked, 0);

    const warmup = phases.shift()!;
    const [lat, sus] = phases as [Phase, Phase];
    const metrics: Record<string, number | string> = {};
    metrics[`warm-up (not measured): ${warmupMs / 1000} s @${warmup.rate}/s, sent/delivered`] = `${warmup.sent}/${warmup.delivered}`;
    for (const p of phases) {
      metrics[`${p.name} @${p.rate}/s: planned/sent/acked/delivered`] = `${p.planned}/${p.sent}/${p.acked}/${p.delivered}`;
      metrics[`${p.name}: sends retried after a temporary refusal`] = p.retries;
      metrics[`${p.name}: send→deliver p50/p99/p99.9/max ms`] = `${p.latency.p50}/${p.latency.p99}/${p.latency.p999}/${p.latency.max}`;
      metrics[`${p.name}: send→ack p50/p99/max ms`] = `${p.ack.p50}/${p.ack.p99}/${p.ack.max}`;
      metrics[`${p.name}: achieved delivered rate msg/s`] = round(p.delivered / (phaseMs / 1000), 0);
      metrics[`${p.name}: generator max lag ms`] = p.maxSchedulerLagMs;
      for (const [k, v] of Object.entries(p.cpu)) metrics[`${p.name}: ${k}`] = v;
    }
    metrics['persisted (sum of last_seq)'] = persisted;
    metrics['missing seqs at receivers after run'] = missing;

    const targets = [
      target(
        `p99 send→deliver at ${latencyRate} msg/s`,
        '≤ 50 ms',
        `${lat.latency.p99} ms`,
        lat.latency.p99 <= 50 && lat.delivered === lat.sent && lat.sent > 0,
      ),
      target(
        `sustained ${sustainRate} msg/s acked`,
        `${sus.planned} acked`,
        `${sus.acked} acked${Object.keys(sus.ackErrors).length ? ` errors ${JSON.stringify(sus.ackErrors)}` : ''}`,
        sus.acked === sus.planned,
      ),
      target(
        `sustained ${sustainRate} msg/s delivered, zero loss`,
        `${sus.acked} delivered`,
        `${sus.delivered} delivered`,
        sus.delivered >= sus.acked && sus.acked === sus.planned,
      ),
      target('persisted (REST last_seq) ≥ acked', `≥ ${totalAcked}`, `${persisted}`, persisted >= totalAcked),
      target('no seq gaps at receivers', '0 missing', `${missing} missing`, missing === 0),
    ];
    const notes = [
      'Latency = receive time − planned send time (open loop; the planned time travels in the message body), HdrHistogram in µs.',
      `Senders and receivers sit on different gateway shards and different load workers; ${pairs} direct conversations.`,
      'Persisted = sum over conversations of last_seq from GET /v1/conversations (Cassandra-backed).',
    ];
    const charts = [
      {
        title: 'send→deliver latency percentiles (ms)',
        xLabel: 'percentile',
        yLabel: 'ms',
        kind: 'bar' as const,
        categories: ['p50', 'p90', 'p99', 'p99.9'],
        series: phases.map((p) => ({
          name: `${p.name} ${p.rate}/s`,
          points: [p.latency.p50, p.latency.p90, p.latency.p99, p.latency.p999].map((v, i) => [i, v] as [number, number]),
        })),
      },
    ];
    return { config, metrics, targets, charts, notes, details: { phases } };
  } finally {
    await fleet?.all<'close'>(() => ({ type: 'close' })).catch(() => undefined);
    await fleet?.stop();
    await sys?.procs.stop();
  }
};
