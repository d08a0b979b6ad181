import { param, round, target, type Scenario } from './common.js';
import { phaseRatios, type Phase, type PhasePlan } from './direct-phases.js';
import { bareKafkaClientsFor, runDirect } from './direct-run.js';

/** Offered rates (msg/s) of a full-scale sweep: the direct scenario's two rates and past them. */
const FULL_RATES = [1000, 2000, 5000, 10_000, 15_000];
const TINY_RATES = [20, 40, 80];

/** A rate keeps up when nearly all it offered was acked and delivered within the phase's drain. */
const KEEPS_UP = 0.95;
/** …and its p99 stays within this many times the p99 at the lowest rate. */
const P99_GROWTH = 5;

interface Step {
  rate: number;
  phase: Phase;
  /** Delivered messages per second of phase time. */
  achieved: number;
  /** CPU cores of each process during the phase. */
  cores: Record<string, number>;
}

function stepsOf(phases: Phase[], phaseMs: number): Step[] {
  return phases.map((phase) => {
    const cores: Record<string, number> = {};
    for (const [k, v] of Object.entries(phase.cpu)) if (k.startsWith('cpu cores: ') && typeof v === 'number') cores[k.slice('cpu cores: '.length)] = v;
    return { rate: phase.rate, phase, achieved: round(phase.delivered / (phaseMs / 1000), 0), cores };
  });
}

/** The first step that does not keep up: acked or delivered short of the offer, or p99 far above the lowest rate's. */
function knee(steps: Step[]): Step | undefined {
  const baseP99 = steps[0]?.phase.latency.p99 ?? 0;
  return steps.find(
    (s) =>
      s.phase.acked < KEEPS_UP * s.phase.planned ||
      s.phase.delivered < KEEPS_UP * s.phase.planned ||
      (baseP99 > 0 && s.phase.latency.p99 > P99_GROWTH * baseP99),
  );
}

/** The busiest non-load process of a step, and the cores every process used together. */
function saturation(s: Step): string {
  const entries = Object.entries(s.cores);
  const total = round(
    entries.reduce((n, [, c]) => n + c, 0),
    2,
  );
  const [name, cores] = entries.filter(([k]) => !k.startsWith('load-')).sort((a, b) => b[1] - a[1])[0] ?? ['none', 0];
  return `busiest ${name} ${cores} cores; all processes ${total} cores`;
}

/**
 * The direct scenario swept over rising offered rates, product and bare pipeline side by side:
 * p50/p99 send→deliver, CPU per delivered message and the delivered rate at each rate. The knee is
 * the first rate that does not keep up (KEEPS_UP, P99_GROWTH); the report names what was busiest
 * there.
 */
export const throughput: Scenario = async (ctx) => {
  const maxRate = param(ctx, 'maxRate', 80, 15_000);
  const rates = (ctx.scale === 'tiny' ? TINY_RATES : FULL_RATES).filter((r) => r <= maxRate);
  const pairs = param(ctx, 'pairs', 6, 500);
  const gateways = param(ctx, 'gateways', 2, 4);
  const workers = param(ctx, 'workers', 2, 4);
  const phaseMs = param(ctx, 'phaseSeconds', 3, 20) * 1000;
  const warmupMs = param(ctx, 'warmupSeconds', 1, 10) * 1000;
  const bodyBytes = param(ctx, 'bodyBytes', 100, 100);
  const bareKafkaClients = bareKafkaClientsFor(ctx);
  const withBare = bareKafkaClients.length > 0;
  const config = { rates, pairs, gateways, workers, phaseMs, warmupMs, bodyBytes, bareKafkaClients };
  ctx.log(`throughput: ${JSON.stringify(config)}`);
  const plans: PhasePlan[] = [
    { name: 'warmup', rate: rates[0]!, durationMs: warmupMs },
    ...rates.map((rate) => ({ name: `rate-${rate}`, rate, durationMs: phaseMs })),
  ];

  const run = await runDirect(ctx, { pairs, gateways, workers, bodyBytes, bareKafkaClients }, plans);
  const product = stepsOf(run.phases.slice(1), phaseMs);
  // The first floor runs on the product's client (kafkajs); the others compare Kafka clients.
  const bare = stepsOf(run.bareRuns[0]?.phases.slice(1) ?? [], phaseMs);
  const otherClients = run.bareRuns.slice(1).map((r) => ({ name: r.kafkaClient, steps: stepsOf(r.phases.slice(1), phaseMs) }));

  const metrics: Record<string, number | string> = {};
  for (const [i, p] of product.entries()) {
    const b = bare[i];
    const at = `@${p.rate}/s`;
    metrics[`${at}: planned/acked/delivered, delivered msg/s`] = `${p.phase.planned}/${p.phase.acked}/${p.phase.delivered}, ${p.achieved}`;
    metrics[`${at}: sends retried after a temporary refusal`] = p.phase.retries;
    metrics[`${at}: send→deliver p50/p99 ms`] = `${p.phase.latency.p50}/${p.phase.latency.p99}`;
    metrics[`${at}: CPU µs per delivered message`] = p.phase.cpuUsPerDelivered;
    metrics[`${at}: CPU`] = saturation(p);
    if (b) {
      metrics[`bare ${at}: planned/acked/delivered, delivered msg/s`] = `${b.phase.planned}/${b.phase.acked}/${b.phase.delivered}, ${b.achieved}`;
      metrics[`bare ${at}: send→deliver p50/p99 ms`] = `${b.phase.latency.p50}/${b.phase.latency.p99}`;
      metrics[`bare ${at}: CPU µs per delivered message`] = b.phase.cpuUsPerDelivered;
      metrics[`ratio product/bare ${at}: p50 / p99 / CPU per message`] = phaseRatios(p.phase, b.phase);
    }
    for (const { name, steps } of otherClients) {
      const c = steps[i];
      if (!c || !b) continue;
      metrics[`bare (${name}) ${at}: planned/acked/delivered, delivered msg/s`] = `${c.phase.planned}/${c.phase.acked}/${c.phase.delivered}, ${c.achieved}`;
      metrics[`bare (${name}) ${at}: send→deliver p50/p99 ms`] = `${c.phase.latency.p50}/${c.phase.latency.p99}`;
      metrics[`bare (${name}) ${at}: CPU µs per delivered message`] = c.phase.cpuUsPerDelivered;
      metrics[`ratio bare ${name}/kafkajs ${at}: p50 / p99 / CPU per message`] = phaseRatios(c.phase, b.phase);
    }
  }
  const productKnee = knee(product);
  const bareKnee = knee(bare);
  const kneeText = (k: Step | undefined, steps: Step[]) =>
    k ? `${k.rate} msg/s (${saturation(k)})` : steps.length ? `none up to ${steps.at(-1)!.rate} msg/s` : 'not measured';
  metrics['knee, product'] = kneeText(productKnee, product);
  if (withBare) metrics['knee, bare pipeline'] = kneeText(bareKnee, bare);
  for (const { name, steps } of otherClients) metrics[`knee, bare pipeline (${name})`] = kneeText(knee(steps), steps);
  metrics['persisted (sum of last_seq)'] = run.persisted;
  metrics['missing seqs at receivers after run'] = run.missing;

  const totalAcked = run.phases.reduce((n, p) => n + p.acked, 0);
  const targets = [
    target('persisted (REST last_seq) ≥ acked', `≥ ${totalAcked}`, `${run.persisted}`, run.persisted >= totalAcked),
    target('no seq gaps at receivers', '0 missing', `${run.missing} missing`, run.missing === 0),
  ];
  if (withBare) {
    // The knee is reported, not judged against a number; the target is to reach the floor's.
    const productKneeRate = productKnee?.rate ?? Infinity;
    const bareKneeRate = bareKnee?.rate ?? Infinity;
    targets.push(
      target(
        'knee at the bare pipeline’s rate or above',
        `≥ ${Number.isFinite(bareKneeRate) ? `${bareKneeRate} msg/s` : `beyond ${rates.at(-1)} msg/s`}`,
        Number.isFinite(productKneeRate) ? `${productKneeRate} msg/s` : `beyond ${rates.at(-1)} msg/s`,
        productKneeRate >= bareKneeRate,
      ),
    );
  }

  const line = (name: string, steps: Step[], y: (s: Step) => number) => ({ name, points: steps.map((s) => [s.rate, y(s)] as [number, number]) });
  const charts = [
    {
      title: 'send→deliver latency by offered rate (ms)',
      xLabel: 'offered msg/s',
      yLabel: 'ms',
      kind: 'line' as const,
      series: [
        line('product p50', product, (s) => s.phase.latency.p50),
        line('product p99', product, (s) => s.phase.latency.p99),
        ...(withBare ? [line('bare p50', bare, (s) => s.phase.latency.p50), line('bare p99', bare, (s) => s.phase.latency.p99)] : []),
        ...otherClients.flatMap(({ name, steps }) => [
          line(`bare (${name}) p50`, steps, (s) => s.phase.latency.p50),
          line(`bare (${name}) p99`, steps, (s) => s.phase.latency.p99),
        ]),
      ],
    },
    {
      title: 'CPU µs per delivered message by offered rate (all non-load processes)',
      xLabel: 'offered msg/s',
      yLabel: 'µs',
      kind: 'line' as const,
      series: [
        line('product', product, (s) => s.phase.cpuUsPerDelivered),
        ...(withBare ? [line('bare', bare, (s) => s.phase.cpuUsPerDelivered)] : []),
        ...otherClients.map(({ name, steps }) => line(`bare (${name})`, steps, (s) => s.phase.cpuUsPerDelivered)),
      ],
    },
    {
      title: 'delivered msg/s by offered rate',
      xLabel: 'offered msg/s',
      yLabel: 'delivered msg/s',
      kind: 'line' as const,
      series: [
        line('offered', product, (s) => s.rate),
        line('product', product, (s) => s.achieved),
        ...(withBare ? [line('bare', bare, (s) => s.achieved)] : []),
        ...otherClients.map(({ name, steps }) => line(`bare (${name})`, steps, (s) => s.achieved)),
      ],
    },
  ];
  const notes = [
    `Each rate runs ${phaseMs / 1000} s of open-loop sends through ${pairs} direct conversations after a ${warmupMs / 1000} s warm-up, then waits for delivery; rates follow one another without restarting anything.`,
    `The knee is the first rate where acked or delivered falls below ${KEEPS_UP * 100}% of the offer or p99 exceeds ${P99_GROWTH}× the lowest rate's; "busiest" is the non-load process with the most CPU there.`,
    'Latency = receive time − planned send time (open loop). CPU per delivered message = CPU of every non-load process (pipeline, Kafka, Cassandra, Redis) / messages delivered.',
    'The bare pipeline (direct-run.ts, system/bare-pipeline.ts) runs the same plans after the product, its processes stopped, on kafkajs (the product’s client); with confluent=1 it runs them again on @confluentinc/kafka-javascript (librdkafka; baseline/bare-kafka.ts), shown as "bare (confluent)".',
  ];
  return { config, metrics, targets, charts, notes, details: { product, bare, otherClients } };
};
