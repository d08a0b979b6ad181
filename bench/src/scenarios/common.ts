import type { LoadFleet } from '../load/fleet.js';
import type { StatsReply } from '../load/protocol.js';
import { CpuMeter, findInfraPids, sampleProc } from '../system/proc-stats.js';
import type { ScenarioOutcome, TargetCheck } from '../report/result.js';
import { startSystem, type RunningSystem, type SystemOptions } from '../system/system-under-test.js';

export type Scale = 'tiny' | 'full';

export interface ScenarioContext {
  scale: Scale;
  runId: string;
  repoRoot: string;
  logDir: string;
  /** First port this run may use; it uses up to 100 consecutive ports. */
  basePort: number;
  logLevel: string;
  /** Overrides of the scenario's numbers (from --set key=value). */
  overrides: Record<string, number>;
  log: (msg: string) => void;
}

export type { ScenarioOutcome } from '../report/result.js';

export type Scenario = (ctx: ScenarioContext) => Promise<ScenarioOutcome>;

/** Picks the tiny or full value, unless overridden. */
export function param<T extends number>(ctx: ScenarioContext, name: string, tiny: T, full: T): number {
  return ctx.overrides[name] ?? (ctx.scale === 'tiny' ? tiny : full);
}

/** The workers' stats summed (counters), merged (histograms, per-message) and min/max'ed (times). */
export interface MergedStats
  extends Pick<
    StatsReply,
    'received' | 'synced' | 'duplicates' | 'outOfOrder' | 'unexpectedCloses' | 'closeCodes' | 'openClients' | 'firstReceiveAt' | 'lastReceiveAt'
  > {
  latencyHists: string[];
  perMessage: Map<string, [number, number, number, number]>;
  workers: StatsReply[];
}

export async function collectStats(fleet: LoadFleet, reset: boolean, perMessage = false): Promise<MergedStats> {
  const all = (await fleet.all<'stats'>(() => ({ type: 'stats', reset, perMessage }))).filter((s): s is StatsReply => s !== undefined);
  const out: MergedStats = {
    received: 0,
    synced: 0,
    duplicates: 0,
    outOfOrder: 0,
    unexpectedCloses: 0,
    closeCodes: {},
    openClients: 0,
    firstReceiveAt: 0,
    lastReceiveAt: 0,
    latencyHists: [],
    perMessage: new Map(),
    workers: all,
  };
  for (const s of all) {
    out.received += s.received;
    out.synced += s.synced;
    out.duplicates += s.duplicates;
    out.outOfOrder += s.outOfOrder;
    out.unexpectedCloses += s.unexpectedCloses;
    out.openClients += s.openClients;
    for (const [k, v] of Object.entries(s.closeCodes)) out.closeCodes[k] = (out.closeCodes[k] ?? 0) + v;
    if (s.firstReceiveAt > 0 && (out.firstReceiveAt === 0 || s.firstReceiveAt < out.firstReceiveAt)) out.firstReceiveAt = s.firstReceiveAt;
    if (s.lastReceiveAt > out.lastReceiveAt) out.lastReceiveAt = s.lastReceiveAt;
    out.latencyHists.push(s.latencyHist);
    for (const [k, v] of Object.entries(s.perMessage ?? {})) {
      const e = out.perMessage.get(k);
      if (!e) out.perMessage.set(k, [...v]);
      else {
        e[0] += v[0];
        e[1] = Math.max(e[1], v[1]);
        e[2] = Math.min(e[2], v[2]);
        e[3] = Math.max(e[3], v[3]);
      }
    }
  }
  return out;
}

/** Polls until `expected` messages were received (without resetting), no progress for `idleMs`, or `timeoutMs`. */
export async function waitReceived(fleet: LoadFleet, expected: number, timeoutMs: number, idleMs = 5000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let last = -1;
  let lastChange = Date.now();
  for (;;) {
    const s = await collectStats(fleet, false);
    if (s.received >= expected) return s.received;
    if (s.received !== last) {
      last = s.received;
      lastChange = Date.now();
    }
    if (Date.now() > deadline || Date.now() - lastChange > idleMs) return s.received;
    await sleep(250);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** CPU meter over system processes, load workers and the local infrastructure. */
export function cpuMeter(systemPids: () => Record<string, number>, fleet: LoadFleet | undefined): CpuMeter {
  const infra = findInfraPids();
  return new CpuMeter(() => ({
    ...systemPids(),
    ...Object.fromEntries((fleet?.pids ?? []).map((p, i) => [`load-${i}`, p])),
    ...infra,
  }));
}

export function sumRss(pids: number[]): number {
  let total = 0;
  for (const pid of pids) total += sampleProc(pid)?.rssBytes ?? 0;
  return total;
}

export function round(v: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

export function target(name: string, requirement: string, measured: string, pass: boolean): TargetCheck {
  return { name, target: requirement, measured, pass };
}

/** Sums per-second timelines of several workers. */
export function sumTimelines(lines: number[][]): number[] {
  const out: number[] = [];
  for (const l of lines) l.forEach((v, i) => (out[i] = (out[i] ?? 0) + v));
  return out.map((v) => v ?? 0);
}

/** CPU of each process as "name cores" plus CPU ms per unit for the system's own processes. */
export function cpuFigures(cpu: Record<string, { cores: number; cpuMs: number }>, units: number, unitName: string): Record<string, number | string> {
  const out: Record<string, number | string> = {};
  let systemMs = 0;
  for (const [name, v] of Object.entries(cpu)) {
    out[`cpu cores: ${name}`] = v.cores;
    if (!name.startsWith('load-')) systemMs += v.cpuMs;
  }
  if (units > 0) out[`system CPU µs per ${unitName} (all non-load processes)`] = round((systemMs * 1000) / units, 1);
  return out;
}

/** The system under test for a scenario: chat-service on basePort, gateways from basePort + 10. */
export function startSystemFor(ctx: ScenarioContext, gateways: number, extra: Pick<SystemOptions, 'extraEnv' | 'sequencerRoles'> = {}): Promise<RunningSystem> {
  return startSystem({
    ...extra,
    runId: ctx.runId,
    repoRoot: ctx.repoRoot,
    logDir: ctx.logDir,
    gateways,
    gatewayBasePort: ctx.basePort + 10,
    chatPort: ctx.basePort,
    redisPrefix: `bench:${ctx.runId}:`,
    logLevel: ctx.logLevel,
  });
}
