#!/usr/bin/env node
// npm run bench -- <scenario|all|report> [--scale tiny|full] [--results DIR] [--port N] [--log-level L] [--set key=value]
import { latestTable } from './report/markdown.js';
import { DEFAULT_RESULTS_DIR, SCENARIOS, runScenario } from './runner.js';
import type { Scale } from './scenarios/common.js';

const USAGE = `usage: npm run bench -- <scenario|all|report> [options]
scenarios: ${Object.keys(SCENARIOS).join(', ')}
  --scale tiny|full   tiny runs in seconds through the same code paths (default full)
  --results DIR       where reports go (default bench/results)
  --port N            first of ~100 loopback ports to use (default random 20000-31000)
  --log-level L       log level of the started services (default warn)
  --set key=value     override a scenario number (e.g. --set connections=20000)
report                print a Markdown table of the latest result of each scenario
The infrastructure (Redis, Kafka, Cassandra) must be up: npm run infra -- up`;

interface Args {
  command: string | undefined;
  scale: Scale;
  results: string;
  port: number | undefined;
  logLevel: string;
  overrides: Record<string, number>;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { command: undefined, scale: 'full', results: DEFAULT_RESULTS_DIR, port: undefined, logLevel: 'warn', overrides: {} };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return v;
    };
    if (arg === '--scale') {
      const v = value();
      if (v !== 'tiny' && v !== 'full') throw new Error('--scale is tiny or full');
      a.scale = v;
    } else if (arg === '--results') a.results = value();
    else if (arg === '--port') a.port = Number(value());
    else if (arg === '--log-level') a.logLevel = value();
    else if (arg === '--set') {
      const [k, v] = value().split('=');
      if (!k || v === undefined || !Number.isFinite(Number(v))) throw new Error('--set key=number');
      a.overrides[k] = Number(v);
    } else if (arg === '-h' || arg === '--help') a.command = 'help';
    else if (arg.startsWith('-')) throw new Error(`unknown option ${arg}`);
    else if (a.command === undefined) a.command = arg;
    else throw new Error(`unexpected argument ${arg}`);
  }
  return a;
}

async function main(): Promise<number> {
  let args: Args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    return 64;
  }
  if (args.command === undefined || args.command === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return args.command === undefined ? 64 : 0;
  }
  if (args.command === 'report') {
    process.stdout.write(`${latestTable(args.results)}\n`);
    return 0;
  }
  const names = args.command === 'all' ? Object.keys(SCENARIOS) : [args.command];
  let failed = false;
  for (const scenario of names) {
    const out = await runScenario({
      scenario,
      scale: args.scale,
      resultsDir: args.results,
      basePort: args.port,
      logLevel: args.logLevel,
      overrides: args.overrides,
    });
    process.stdout.write(`\n${out.summary}\nreport: ${out.files.md}\nraw:    ${out.files.json}\n`);
    if (out.result.verdict === 'FAIL') failed = true;
  }
  // Full runs exit 0 on FAIL (the report carries the verdict); tiny runs are checks and exit 1.
  return failed && args.scale === 'tiny' ? 1 : 0;
}

process.on('SIGINT', () => process.exit(130));
process.on('SIGTERM', () => process.exit(143));
main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench: harness error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(2);
  },
);
