import type { BareKafkaClient } from '../baseline/bare-kafka.js';
import type { BareRoutes } from '../baseline/bare-pipeline-wire.js';
import { LoadFleet } from '../load/fleet.js';
import { startBarePipeline, type RunningBarePipeline } from '../system/bare-pipeline.js';
import { Rest, mapLimit } from '../system/rest.js';
import type { RunningSystem } from '../system/system-under-test.js';
import { cpuMeter, param, type ScenarioContext, startSystemFor } from './common.js';
import { connectPairs, layoutPairs, runPhases, type Phase, type PhasePlan } from './direct-phases.js';

export interface DirectRunOptions {
  pairs: number;
  gateways: number;
  workers: number;
  bodyBytes: number;
  /**
   * Also run the plans through the bare pipeline (system/bare-pipeline.ts), the floor, once on
   * each of these Kafka clients in turn; none skips the floor.
   */
  bareKafkaClients: BareKafkaClient[];
}

/**
 * The floors a run measures: none with `--set bare=0`; the bare pipeline on kafkajs (the product's
 * client, the floor targets are judged against); with `--set confluent=1` also on
 * @confluentinc/kafka-javascript (librdkafka), to compare the two clients in the same run.
 */
export function bareKafkaClientsFor(ctx: ScenarioContext): BareKafkaClient[] {
  if (param(ctx, 'bare', 1, 1) === 0) return [];
  return param(ctx, 'confluent', 0, 0) !== 0 ? ['kafkajs', 'confluent'] : ['kafkajs'];
}

/** The plans' phases through the bare pipeline on one Kafka client. */
export interface BareRun {
  kafkaClient: BareKafkaClient;
  phases: Phase[];
}

export interface DirectRun {
  /** The product's phases, in plan order. */
  phases: Phase[];
  /** The bare pipeline's phases on each Kafka client asked for, in plan order. */
  bareRuns: BareRun[];
  /** Sum over conversations of last_seq from the REST API (Cassandra-backed). */
  persisted: number;
  /** Seqs the receivers never got, after the product's phases. */
  missing: number;
}

/**
 * 1:1 conversations through the full path: open-loop senders, receivers on other shards and
 * workers, every plan in turn; then persistence and gaps are checked. With the floor, the same
 * plans run through the bare pipeline after the product's, once the product's processes are
 * stopped: the product's figures stay comparable with earlier runs (nothing ran before them),
 * and the floor is measured on an idle machine as the product was.
 */
export async function runDirect(ctx: ScenarioContext, o: DirectRunOptions, plans: PhasePlan[]): Promise<DirectRun> {
  const { pairs, gateways, workers, bodyBytes } = o;
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

    const lastSeqs = await mapLimit(senders, 16, async (s, i) => (await rest.lastSeqs(s)).get(convs[i]!) ?? 0);
    const persisted = lastSeqs.reduce((a, b) => a + b, 0);
    const finalSeq = Object.fromEntries(convs.map((c, i) => [c, lastSeqs[i]!]));
    const gaps = await fleet.all<'expectation'>(() => ({ type: 'expectation', finalSeq }));
    const missing = gaps.reduce((n, g) => n + (g?.missing ?? 0), 0);

    // The floor: same clients (same workers, same shards), same conversation ids, same plans.
    const bareRuns: BareRun[] = [];
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
    for (const kafkaClient of o.bareKafkaClients) {
      bare = await startBarePipeline({
        runId: ctx.runId,
        repoRoot: ctx.repoRoot,
        logDir: ctx.logDir,
        servers: gateways,
        basePort: ctx.basePort + 50,
        redisPrefix: `bench:${ctx.runId}:`,
        logLevel: ctx.logLevel,
        routes,
        kafkaClient,
      });
      await connectPairs(fleet, layout, bare.urls, `the bare pipeline on ${kafkaClient}`);
      const pipeline = bare;
      const barePhases = await runPhases(
        fleet,
        cpuMeter(() => pipeline.procs.pids(), fleet),
        layout.senders,
        pairs,
        bodyBytes,
        plans,
        (m) => ctx.log(m.replace('phase', `bare pipeline (${kafkaClient}) phase`)),
      );
      bareRuns.push({ kafkaClient, phases: barePhases });
      await fleet.all<'close'>(() => ({ type: 'close' }));
      await bare.procs.stop();
      bare = undefined;
    }
    return { phases, bareRuns, persisted, missing };
  } finally {
    await fleet?.all<'close'>(() => ({ type: 'close' })).catch(() => undefined);
    await fleet?.stop();
    await sys?.procs.stop();
    await bare?.procs.stop();
  }
}
