import { KAFKA_CLIENT_PACKAGE } from '../baseline/bare-kafka.js';
import { param, round, target, type Scenario, type ScenarioContext } from './common.js';
import { phaseMetrics, phaseRatios, ratio, type Phase, type PhasePlan } from './direct-phases.js';
import { bareKafkaClientsFor, runDirect } from './direct-run.js';

/** How far above the bare pipeline (same hops, no product logic, same run) the product may be. */
const MAX_RATIO_TO_BARE = 1.5;

/**
 * 1:1 messages through the full path at a latency rate and a sustained rate; then (bare=1, the
 * default) the same load through the bare pipeline, the floor the product is judged against as a
 * ratio (direct-run.ts).
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
  // bare=0 skips the bare-pipeline phases (quick runs); the ratio targets are then not judged.
  const bareKafkaClients = bareKafkaClientsFor(ctx);
  const withBare = bareKafkaClients.length > 0;
  const config = { pairs, gateways, workers, latencyRate, sustainRate, phaseMs, warmupMs, bodyBytes, bareKafkaClients };
  ctx.log(`direct: ${JSON.stringify(config)}`);
  const plans: PhasePlan[] = [
    { name: 'warmup', rate: latencyRate, durationMs: warmupMs },
    { name: 'latency', rate: latencyRate, durationMs: phaseMs },
    { name: 'sustained', rate: sustainRate, durationMs: phaseMs },
  ];

  const run = await runDirect(ctx, { pairs, gateways, workers, bodyBytes, bareKafkaClients }, plans);
  const { phases, persisted, missing } = run;
  // Without their warm-up; the first is the floor on the product's client (kafkajs), the others compare Kafka clients.
  const [barePhases = [], ...otherPhases] = run.bareRuns.map((r) => r.phases.slice(1));
  const otherNames = run.bareRuns.slice(1).map((r) => KAFKA_CLIENT_PACKAGE[r.kafkaClient]);
  const totalAcked = phases.reduce((n, p) => n + p.acked, 0);
  const warmup = phases.shift()!;
  const [lat, sus] = phases as [Phase, Phase];
  const metrics: Record<string, number | string> = {};
  metrics[`warm-up (not measured): ${warmupMs / 1000} s @${warmup.rate}/s, sent/delivered`] = `${warmup.sent}/${warmup.delivered}`;
  Object.assign(metrics, phaseMetrics(phases, phaseMs, ''));
  metrics['persisted (sum of last_seq)'] = persisted;
  metrics['missing seqs at receivers after run'] = missing;

  const targets = [
    target(`p99 send→deliver at ${latencyRate} msg/s`, '≤ 50 ms', `${lat.latency.p99} ms`, lat.latency.p99 <= 50 && lat.delivered === lat.sent && lat.sent > 0),
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

  for (const [i, phasesOnClient] of otherPhases.entries()) {
    const name = otherNames[i]!;
    Object.assign(metrics, phaseMetrics(phasesOnClient, phaseMs, `bare pipeline on ${name}: `));
    for (const [k, b] of barePhases.entries()) {
      const c = phasesOnClient[k]!;
      const at = `${b.name} @${b.rate}/s`;
      metrics[`bare pipeline, kafkajs | ${name}, ${at}: send→deliver p50 / p99 ms, CPU µs per delivered message`] =
        `${b.latency.p50} | ${c.latency.p50} / ${b.latency.p99} | ${c.latency.p99}, ${b.cpuUsPerDelivered} | ${c.cpuUsPerDelivered}`;
      metrics[`ratio bare pipeline ${name}/kafkajs, ${at}: p50 / p99 / CPU per message`] = phaseRatios(c, b);
    }
  }

  const notes = [
    'Latency = receive time − planned send time (open loop; the planned time travels in the message body), HdrHistogram in µs.',
    `Senders and receivers sit on different gateway shards and different load workers; ${pairs} direct conversations.`,
    'Persisted = sum over conversations of last_seq from GET /v1/conversations (Cassandra-backed).',
    'CPU per delivered message = CPU time of every non-load process (the system’s or the bare pipeline’s, plus Kafka, Cassandra and Redis) / messages delivered to receivers.',
    withBare
      ? `Bare pipeline (after the product's phases, its processes stopped): the same load workers, clients, shards and conversation ids against ${gateways} bare uWS servers (token subject read unverified, send → Kafka acks=all with the product's idempotent producer → ack) and one consumer (in-memory seq, Cassandra row in bench_bare_messages at LOCAL_QUORUM, Redis publish to the receiving server, offset commit). The same phases and rates; ratios are product/bare.`
      : 'Bare pipeline phases skipped (bare=0): no ratio targets.',
    ...(otherNames.length > 0
      ? [
          `Then the same bare pipeline on ${otherNames.join(', ')} (the same settings through its KafkaJS-compatible API; baseline/bare-kafka.ts); the targets are judged against the kafkajs floor, the product's client.`,
        ]
      : []),
  ];
  const charts = [
    {
      title: 'send→deliver latency percentiles (ms)',
      xLabel: 'percentile',
      yLabel: 'ms',
      kind: 'bar' as const,
      categories: ['p50', 'p90', 'p99', 'p99.9'],
      series: [
        ...phases.map((p) => ({ p, name: `${p.name} ${p.rate}/s` })),
        ...run.bareRuns.flatMap((r) => r.phases.slice(1).map((p) => ({ p, name: `bare (${r.kafkaClient}) ${p.name} ${p.rate}/s` }))),
      ].map(({ p, name }) => ({
        name,
        points: [p.latency.p50, p.latency.p90, p.latency.p99, p.latency.p999].map((v, i) => [i, v] as [number, number]),
      })),
    },
  ];
  return { config, metrics, targets, charts, notes, details: { phases, barePhases, bareRuns: run.bareRuns } };
};
