#!/usr/bin/env node
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { endpointEnv, resolveEndpoints } from './config.js';
import { down, purge, status, up } from './infra.js';
import { COMPONENTS, REPO_ROOT, resolvePaths, type ComponentName } from './paths.js';
import { tailFile } from './process-control.js';
import * as replicated from './replicated/commands.js';
import { runServices } from './run-services.js';
import { CONNECT_HINT, SERVICES } from './services.js';

const USAGE = `usage: node deploy/dist/local/cli.js <command>
  up                     start Redis, Kafka, Cassandra, S3Proxy (unless REDIS_URL / KAFKA_BROKERS /
                         CASSANDRA_CONTACT_POINTS / S3_ENDPOINT point at existing ones), create
                         topics and the attachments bucket, migrate
  down [--purge]         stop what \`up\` started; --purge also deletes the data dir
  status                 state of each component
  logs [component] [-n N]  log file paths, or the last N (default 100) lines of one
  test [vitest args]     up, vitest run, then stop what this run started; exits with vitest's code
  start                  up, then run the services in the foreground (Ctrl-C stops the services)
  --replicated           with up, down, status, logs, test: the replicated profile instead (3 Kafka
                         brokers, 3 Cassandra nodes, Redis master + replica + 3 sentinels; own ports
                         and data dir CHAT_REPLICATED_DATA_DIR, default <repo>/.replicated-data);
                         its \`test\` runs the fault tests of vitest.replicated.config.ts
env: CHAT_DATA_DIR (default <repo>/.data), CHAT_CACHE_DIR (default ~/.cache/chat-backend),
     CASSANDRA_KEYSPACE (chat), CASSANDRA_REPLICATION (1), CHAT_INFRA_TIMEOUT_SCALE (1),
     S3_BUCKET (chat-attachments), S3_REGION (us-east-1), CHAT_S3_PORT (19000, the local S3Proxy)`;

const log = (m: string) => process.stdout.write(`infra: ${m}\n`);

function isComponent(s: string | undefined): s is ComponentName {
  return s !== undefined && (COMPONENTS as readonly string[]).includes(s);
}

async function cmdUp(): Promise<number> {
  const paths = resolvePaths();
  const e = resolveEndpoints();
  await up(paths, e, log);
  printEnv(e);
  return 0;
}

function printEnv(e: ReturnType<typeof resolveEndpoints>): void {
  log('environment for services and tests:');
  for (const [k, v] of Object.entries(endpointEnv(e))) process.stdout.write(`  ${k}=${v}\n`);
}

async function cmdDown(args: string[]): Promise<number> {
  const paths = resolvePaths();
  await down(paths, log);
  if (args.includes('--purge')) purge(paths, log);
  else log(`stopped; data kept in ${paths.dataDir} (down --purge deletes it)`);
  return 0;
}

async function cmdStatus(): Promise<number> {
  const st = await status(resolvePaths(), resolveEndpoints());
  for (const s of st) {
    const state = s.state === 'stopped' ? 'stopped' : `${s.state}${s.pid ? ` (pid ${s.pid})` : ''}, ${s.ready ? 'ready' : 'NOT ready'}`;
    process.stdout.write(`${s.name.padEnd(10)} ${state.padEnd(30)} ${s.endpoint}${s.log ? `  log: ${s.log}` : ''}\n`);
  }
  return 0;
}

function cmdLogs(args: string[]): number {
  const paths = resolvePaths();
  const name = args.find((a) => !a.startsWith('-') && !/^\d+$/.test(a));
  const nIdx = args.indexOf('-n');
  const n = nIdx >= 0 ? Number(args[nIdx + 1]) : 100;
  if (name === undefined) {
    for (const c of COMPONENTS) process.stdout.write(`${c.padEnd(10)} ${paths.logFile(c)}${existsSync(paths.logFile(c)) ? '' : ' (none yet)'}\n`);
    return 0;
  }
  if (!isComponent(name)) {
    process.stderr.write(`unknown component ${name}; one of ${COMPONENTS.join(', ')}\n`);
    return 2;
  }
  const text = tailFile(paths.logFile(name), Number.isInteger(n) && n > 0 ? n : 100);
  process.stdout.write(text ? `${text}\n` : `(no log at ${paths.logFile(name)})\n`);
  return 0;
}

/** Exit code convention for a child killed by a signal. */
function signalCode(sig: NodeJS.Signals | null): number {
  return sig === 'SIGINT' ? 130 : sig === 'SIGTERM' ? 143 : 1;
}

async function cmdTest(vitestArgs: string[]): Promise<number> {
  const paths = resolvePaths();
  const e = resolveEndpoints();
  const started: ComponentName[] = [];
  const abort = new AbortController();
  let child: ReturnType<typeof spawn> | undefined;
  let cleaning: Promise<void> | undefined;
  const cleanup = () =>
    (cleaning ??= started.length > 0 ? (log(`stopping what this run started: ${started.join(', ')}`), down(paths, log, started)) : Promise.resolve());
  const onSignal = (sig: NodeJS.Signals) => {
    if (child && child.exitCode === null) {
      child.kill(sig); // vitest exits; the normal path below cleans up
      return;
    }
    abort.abort();
    void cleanup().finally(() => process.exit(signalCode(sig)));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    await up(paths, e, log, started, abort.signal);
  } catch (err) {
    process.stderr.write(`infra: ${(err as Error).message}\n`);
    await cleanup();
    return 1;
  }
  const bin = join(REPO_ROOT, 'node_modules', '.bin', 'vitest');
  const [cmd, args] = existsSync(bin) ? [bin, ['run', ...vitestArgs]] : ['npx', ['vitest', 'run', ...vitestArgs]];
  log(`running: vitest run ${vitestArgs.join(' ')}`.trimEnd());
  const code = await new Promise<number>((resolve) => {
    child = spawn(cmd, args, { cwd: REPO_ROOT, stdio: 'inherit', env: { ...process.env, ...endpointEnv(e) } });
    child.on('error', (err) => {
      process.stderr.write(`infra: could not run vitest: ${err.message}\n`);
      resolve(1);
    });
    child.on('exit', (c, sig) => resolve(c ?? signalCode(sig)));
  });
  await cleanup();
  return code;
}

async function cmdStart(): Promise<number> {
  const paths = resolvePaths();
  const e = resolveEndpoints();
  await up(paths, e, log);
  log(`starting services: ${SERVICES.map((s) => s.name).join(', ')}`);
  const services = runServices(SERVICES, endpointEnv(e), log); // restarts a crashed service with backoff
  for (const line of CONNECT_HINT) log(line);
  await services;
  log('services stopped; the infrastructure keeps running (stop it with: npm run infra -- down)');
  return 0;
}

function logsArgs(args: string[]): { name: string | undefined; n: number } {
  const nIdx = args.indexOf('-n');
  const n = nIdx >= 0 ? Number(args[nIdx + 1]) : 100;
  return { name: args.find((a, i) => !a.startsWith('-') && !(i > 0 && args[i - 1] === '-n')), n: Number.isInteger(n) && n > 0 ? n : 100 };
}

/** `--replicated` (before any `--` that starts vitest's arguments), or CHAT_INFRA_PROFILE=replicated. */
function splitProfile(argv: string[]): { replicatedProfile: boolean; args: string[] } {
  const sep = argv.indexOf('--');
  const own = sep < 0 ? argv : argv.slice(0, sep);
  const flag = own.includes('--replicated');
  const args = flag ? [...own.filter((a) => a !== '--replicated'), ...(sep < 0 ? [] : argv.slice(sep))] : argv;
  return { replicatedProfile: flag || process.env.CHAT_INFRA_PROFILE === 'replicated', args };
}

async function replicatedMain(cmd: string | undefined, rest: string[]): Promise<number> {
  switch (cmd) {
    case 'up':
      return replicated.upCommand(log);
    case 'down':
      return replicated.downCommand(rest, log);
    case 'status':
      return replicated.statusCommand();
    case 'logs': {
      const { name, n } = logsArgs(rest);
      return replicated.logsCommand(name, n);
    }
    case 'test':
      return replicated.testCommand(rest[0] === '--' ? rest.slice(1) : rest, log);
    default:
      process.stderr.write(`--replicated works with up, down, status, logs and test\n${USAGE}\n`);
      return 2;
  }
}

async function main(argv: string[]): Promise<number> {
  const { replicatedProfile, args } = splitProfile(argv);
  const [cmd, ...rest] = args;
  if (replicatedProfile && cmd !== undefined && !['help', '--help', '-h'].includes(cmd)) return replicatedMain(cmd, rest);
  switch (cmd) {
    case 'up':
      return cmdUp();
    case 'down':
      return cmdDown(rest);
    case 'status':
      return cmdStatus();
    case 'logs':
      return cmdLogs(rest);
    case 'test':
      return cmdTest(rest[0] === '--' ? rest.slice(1) : rest);
    case 'start':
      return cmdStart();
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(`${USAGE}\n`);
      return cmd === undefined ? 2 : 0;
    default:
      process.stderr.write(`unknown command ${cmd}\n${USAGE}\n`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`infra: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
