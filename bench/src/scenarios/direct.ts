import { LoadFleet } from '../load/fleet.js';
import type { BareRoutes } from '../baseline/bare-pipeline-wire.js';
import { startBarePipeline, type RunningBarePipeline } from '../system/bare-pipeline.js';
import { Rest, mapLimit } from '../system/rest.js';
import type { RunningSystem } from '../system/system-under-test.js';
import { cpuMeter, param, round, target, type Scenario, type ScenarioContext, startSystemFor } from './common.js';
import { connectPairs, layoutPairs, phaseMetrics, runPhases, type Phase, type PhasePlan } from './direct-phases.js';

/** How far above the bare pipeline (same hops, no product logic, same run) the product may be. */
const MAX_RATIO_TO_BARE = 1.5;

function ratio(product: number, bare: number): number {
  return bare > 0 ? round(product / bare, 2) : Number.POSITIVE_INFINITY;
}

/**
 * 1:1 messages through the full path: open-loop senders, receivers on other shards and workers.
 * Then (bare=1, the default) the same load through the bare pipeline (system/bare-pipeline.ts),
 * the floor the product is judged against as a ratio. The bare phases run after the product's,
 * once the product's processes are stopped: the product's figures stay comparable with earlier
 * runs (nothing ran before them), and the floor is measured on an idle machine as the product was.
 */
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
  // 0 skips the bare-pipeline phases (quick runs); the ratio targets are then not judged.
  const withBare = param(ctx, 'bare', 1, 1) !== 0;
  const config = { pairs, gateways, workers, latencyRate, sustainRate, phaseMs, warmupMs, bodyBytes, bare: withBare ? 1 : 0 };
  ctx.log(`direct: ${JSON.stringify(config)}`);
  const plans: PhasePlan[] = [
    { name: 'warmup', rate: latencyRate, durationMs: warmupMs },
    { name: 'latency', rate: latencyRate, durationMs: phaseMs },
    { name: 'sustained', rate: sustainRate, durationMs: phaseMs },
  ];

  let sys: RunningSystem | undefined;
  let bare: RunningBarePipeline | undefined;
  let fleet: LoadFleet | undefined;
  try {
    sys = await startSystemFor(ctx, gateways);
    const rest = new Rest(sys.chatUrl, sys.env);
    const senders = Array.from({ length: pairs }, (_, i) => `b${ctx.runId}-s${i}`);
    const receivers = Array.from({ length: pairs }, (_, i) => `b${ctx.runId}-r${i}`);
    const convs = await mapLimit(senders, 16, (s, i) => rest.createDirect(s, receivers[i]!));
    ctx.log(`direct: ${convs.length} conversations created`);

    fleet = await LoadFleet.start(workers, sys.env);
    const layout = layoutPairs(senders, receivers, convs, workers);
    await connectPairs(fleet, layout, sys.gatewayUrls, 'the gateways');
    const running = sys;
    const phases = await runPhases(
      fleet,
      cpuMeter(() => running.procs.pids(), fleet),
      layout.senders,
      pairs,
      bodyBytes,
      plans,
      ctx.log,
    );

    // Persistence: last_seq of every conversation, from the REST API (Cassandra-backed).
    const lastSeqs = await mapLimit(senders, 16, async (s, i) => (await rest.lastSeqs(s)).get(convs[i]!) ?? 0);
    const persisted = lastSeqs.reduce((a, b) => a + b, 0);
    const finalSeq = Object.fromEntries(convs.map((c, i) => [c, lastSeqs[i]!]));
    const gaps = await fleet.all<'expectation'>(() => ({ type: 'expectation', finalSeq }));
    const missing = gaps.reduce((n, g) => n + (g?.missing ?? 0), 0);
    const totalAcked = phases.reduce((n, p) => n + p.acked, 0);

    // The floor: same clients (same workers, same shards), same conversation ids, same phases.
    let barePhases: Phase[] = [];
    if (withBare) {
      await fleet.all<'close'>(() => ({ type: 'close' }));
      await sys.procs.stop();
      sys = undefined;
      const routes: BareRoutes = Object.fromEntries(
        convs.map((c, i) => [
          c,
          [
            [senders[i]!, i % gateways],
            [receivers[i]!, (i + 1) % gateways],
          ],
        ]),
      );
      bare = await startBarePipeline({
        runId: ctx.runId,
        repoRoot: ctx.repoRoot,
        logDir: ctx.logDir,
        servers: gateways,
        basePort: ctx.basePort + 50,
        redisPrefix: `bench:${ctx.runId}:`,
        logLevel: ctx.logLevel,
        routes,
      });
      await connectPairs(fleet, layout, bare.urls, 'the bare pipeline');
      const pipeline = bare;
      barePhases = await runPhases(
        fleet,
        cpuMeter(() => pipeline.procs.pids(), fleet),
        layout.senders,
        pairs,
        bodyBytes,
        plans,
        (m) => ctx.log(m.replace('phase', 'bare pipeline phase')),
      );
      barePhases.shift();
    }

    const warmup = phases.shift()!;
    const [lat, sus] = phases as [Phase, Phase];
    const metrics: Record<string, number | string> = {};
    metrics[`warm-up (not measured): ${warmupMs / 1000} s @${warmup.rate}/s, sent/delivered`] = `${warmup.sent}/${warmup.delivered}`;
    Object.assign(metrics, phaseMetrics(phases, phaseMs, ''));
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

    if (withBare) {
      const [bareLat, bareSus] = barePhases as [Phase, Phase];
      Object.assign(metrics, phaseMetrics(barePhases, phaseMs, 'bare pipeline: '));
      for (const [p, b] of [
        [lat, bareLat],
        [sus, bareSus],
      ] as const) {
        const at = `${p.name} @${p.rate}/s`;
        metrics[`product | bare pipeline, ${at}: send→deliver p50 ms`] = `${p.latency.p50} | ${b.latency.p50} (×${ratio(p.latency.p50, b.latency.p50)})`;
        metrics[`product | bare pipeline, ${at}: send→deliver p99 ms`] = `${p.latency.p99} | ${b.latency.p99} (×${ratio(p.latency.p99, b.latency.p99)})`;
        metrics[`product | bare pipeline, ${at}: CPU µs per delivered message`] =
          `${p.cpuUsPerDelivered} | ${b.cpuUsPerDelivered} (×${ratio(p.cpuUsPerDelivered, b.cpuUsPerDelivered)})`;
        metrics[`ratio product/bare, ${at}: send→deliver p50`] = ratio(p.latency.p50, b.latency.p50);
        metrics[`ratio product/bare, ${at}: send→deliver p99`] = ratio(p.latency.p99, b.latency.p99);
        metrics[`ratio product/bare, ${at}: CPU per delivered message`] = ratio(p.cpuUsPerDelivered, b.cpuUsPerDelivered);
      }
      // A floor that lost messages is no floor: the ratio targets also require the bare phase complete.
      const bareComplete = (b: Phase) => (b.sent > 0 && b.delivered >= b.sent ? '' : `; bare pipeline delivered only ${b.delivered} of ${b.sent}`);
      const p99Ratio = ratio(lat.latency.p99, bareLat.latency.p99);
      targets.push(
        target(
          `p99 send→deliver at ${latencyRate} msg/s ≤ ${MAX_RATIO_TO_BARE}× bare pipeline`,
          `≤ ${round(MAX_RATIO_TO_BARE * bareLat.latency.p99)} ms (bare ${bareLat.latency.p99} ms)`,
          `${lat.latency.p99} ms (×${p99Ratio})${bareComplete(bareLat)}`,
          p99Ratio <= MAX_RATIO_TO_BARE && bareComplete(bareLat) === '' && lat.delivered === lat.sent && lat.sent > 0,
        ),
      );
      const cpuRatio = ratio(lat.cpuUsPerDelivered, bareLat.cpuUsPerDelivered);
      targets.push(
        target(
          `CPU per delivered message ≤ ${MAX_RATIO_TO_BARE}× bare pipeline (at ${latencyRate} msg/s)`,
          `≤ ${round(MAX_RATIO_TO_BARE * bareLat.cpuUsPerDelivered, 0)} µs (bare ${bareLat.cpuUsPerDelivered} µs)`,
          `${lat.cpuUsPerDelivered} µs (×${cpuRatio}); at ${sustainRate} msg/s ${sus.cpuUsPerDelivered} vs ${bareSus.cpuUsPerDelivered} µs (×${ratio(sus.cpuUsPerDelivered, bareSus.cpuUsPerDelivered)})${bareComplete(bareLat)}`,
          cpuRatio <= MAX_RATIO_TO_BARE && bareComplete(bareLat) === '' && lat.delivered > 0,
        ),
      );
    }

    const notes = [
      'Latency = receive time − planned send time (open loop; the planned time travels in the message body), HdrHistogram in µs.',
      `Senders and receivers sit on different gateway shards and different load workers; ${pairs} direct conversations.`,
      'Persisted = sum over conversations of last_seq from GET /v1/conversations (Cassandra-backed).',
      'CPU per delivered message = CPU time of every non-load process (the system’s or the bare pipeline’s, plus Kafka, Cassandra and Redis) / messages delivered to receivers.',
      withBare
        ? `Bare pipeline (after the product's phases, its processes stopped): the same load workers, clients, shards and conversation ids against ${gateways} bare uWS servers (token subject read unverified, send → Kafka acks=all with the product's idempotent producer → ack) and one consumer (in-memory seq, Cassandra row in bench_bare_messages at LOCAL_QUORUM, Redis publish to the receiving server, offset commit). The same phases and rates; ratios are product/bare.`
        : 'Bare pipeline phases skipped (bare=0): no ratio targets.',
    ];
    const charts = [
      {
        title: 'send→deliver latency percentiles (ms)',
        xLabel: 'percentile',
        yLabel: 'ms',
        kind: 'bar' as const,
        categories: ['p50', 'p90', 'p99', 'p99.9'],
        series: [...phases.map((p) => ({ p, name: `${p.name} ${p.rate}/s` })), ...barePhases.map((p) => ({ p, name: `bare ${p.name} ${p.rate}/s` }))].map(
          ({ p, name }) => ({
            name,
            points: [p.latency.p50, p.latency.p90, p.latency.p99, p.latency.p999].map((v, i) => [i, v] as [number, number]),
          }),
        ),
      },
    ];
    return { config, metrics, targets, charts, notes, details: { phases, barePhases } };
  } finally {
    await fleet?.all<'close'>(() => ({ type: 'close' })).catch(() => undefined);
    await fleet?.stop();
    await sys?.procs.stop();
    await bare?.procs.stop();
  }
};
