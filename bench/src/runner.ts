import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureInfra } from './system/infra-check.js';
import { gitInfo, machineInfo } from './report/machine.js';
import { summaryTable, writeResult } from './report/markdown.js';
import type { ScenarioResult } from './report/result.js';
import type { Scale, Scenario } from './scenarios/common.js';
import { connections } from './scenarios/connections.js';
import { direct } from './scenarios/direct.js';
import { groupFanout } from './scenarios/group-fanout.js';
import { inboxSync } from './scenarios/inbox-sync.js';
import { presence } from './scenarios/presence.js';
import { reconnectStorm } from './scenarios/reconnect-storm.js';
import { throughput } from './scenarios/throughput.js';

export const SCENARIOS: Record<string, Scenario> = {
  connections,
  direct,
  'group-fanout': groupFanout,
  'reconnect-storm': reconnectStorm,
  'inbox-sync': inboxSync,
  presence,
  throughput,
};

export const REPO_ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const DEFAULT_RESULTS_DIR = join(REPO_ROOT, 'bench', 'results');

export interface RunOptions {
  scenario: string;
  scale: Scale;
  /** Where the JSON and Markdown reports go. @default bench/results */
  resultsDir?: string;
  /** First of ~100 ports the run uses. @default a random base in 20000-31000 */
  basePort?: number;
  /** @default 'warn' */
  logLevel?: string;
  overrides?: Record<string, number>;
  log?: (msg: string) => void;
  /** Check Redis/Kafka/Cassandra and run `infra up` when they are not reachable. @default true */
  ensureInfra?: boolean;
}

export interface RunOutput {
  result: ScenarioResult;
  files: { json: string; md: string };
  summary: string;
}

/** Runs one scenario, writes its reports and returns them; throws on harness errors only. */
export async function runScenario(o: RunOptions): Promise<RunOutput> {
  const scenario = SCENARIOS[o.scenario];
  if (!scenario) throw new Error(`unknown scenario ${o.scenario}; one of ${Object.keys(SCENARIOS).join(', ')}`);
  const runId = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
  const resultsDir = o.resultsDir ?? DEFAULT_RESULTS_DIR;
  const started = new Date();
  const log = o.log ?? ((m: string) => process.stdout.write(`bench: ${m}\n`));
  if (o.ensureInfra ?? true) await ensureInfra(REPO_ROOT, log);
  const outcome = await scenario({
    scale: o.scale,
    runId,
    repoRoot: REPO_ROOT,
    logDir: join(tmpdir(), 'chat-bench-logs', `${o.scenario}-${runId}`),
    basePort: o.basePort ?? 20000 + Math.floor(Math.random() * 110) * 100,
    logLevel: o.logLevel ?? 'warn',
    overrides: o.overrides ?? {},
    log,
  });
  const result: ScenarioResult = {
    scenario: o.scenario,
    scale: o.scale,
    runId,
    startedAt: started.toISOString(),
    durationS: Math.round((Date.now() - started.getTime()) / 100) / 10,
    machine: machineInfo(),
    git: gitInfo(REPO_ROOT),
    ...outcome,
    verdict: outcome.targets.every((t) => t.pass) ? 'PASS' : 'FAIL',
  };
  const files = writeResult(resultsDir, result);
  return { result, files, summary: summaryTable(result) };
}
