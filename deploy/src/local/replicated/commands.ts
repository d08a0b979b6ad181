import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { purge, type Log } from '../infra.js';
import { REPO_ROOT, resolveReplicatedPaths } from '../paths.js';
import { tailFile } from '../process-control.js';
import { downReplicated, statusReplicated, upReplicated } from './cluster.js';
import { REPLICATED_NODES } from './nodes.js';

/** The `--replicated` variants of the infra commands (cli.ts dispatches here). */

/** Vitest configuration of the fault tests that need the replicated profile. */
export const REPLICATED_VITEST_CONFIG = 'vitest.replicated.config.ts';

function printEnv(env: Record<string, string>, log: Log): void {
  log('environment for services and tests:');
  for (const [k, v] of Object.entries(env)) process.stdout.write(`  ${k}=${v}\n`);
}

export async function upCommand(log: Log): Promise<number> {
  printEnv(await upReplicated(resolveReplicatedPaths(), log), log);
  return 0;
}

export async function downCommand(args: string[], log: Log): Promise<number> {
  const paths = resolveReplicatedPaths();
  await downReplicated(paths, log);
  if (args.includes('--purge')) purge(paths, log);
  else log(`stopped; data kept in ${paths.dataDir} (down --replicated --purge deletes it)`);
  return 0;
}

export async function statusCommand(): Promise<number> {
  for (const s of await statusReplicated(resolveReplicatedPaths())) {
    const state = s.pid === undefined ? 'stopped' : `running (pid ${s.pid}), ${s.ready ? 'ready' : 'NOT ready'}${s.role ? `, ${s.role}` : ''}`;
    process.stdout.write(`${s.name.padEnd(12)} ${state.padEnd(40)} ${s.endpoint.padEnd(16)} log: ${s.log}\n`);
  }
  return 0;
}

export function logsCommand(name: string | undefined, n: number): number {
  const paths = resolveReplicatedPaths();
  if (name === undefined) {
    for (const x of REPLICATED_NODES)
      process.stdout.write(`${x.name.padEnd(12)} ${paths.logFile(x.name)}${existsSync(paths.logFile(x.name)) ? '' : ' (none yet)'}\n`);
    return 0;
  }
  if (!REPLICATED_NODES.some((x) => x.name === name)) {
    process.stderr.write(`unknown node ${name}; one of ${REPLICATED_NODES.map((x) => x.name).join(', ')}\n`);
    return 2;
  }
  const text = tailFile(paths.logFile(name), n);
  process.stdout.write(text ? `${text}\n` : `(no log at ${paths.logFile(name)})\n`);
  return 0;
}

/**
 * Bring the profile up, run the replicated fault tests (vitest.replicated.config.ts) against it,
 * stop what this run started, and delete the data when this run started the whole profile (a
 * throwaway cluster). Exits with vitest's code.
 */
export async function testCommand(vitestArgs: string[], log: Log): Promise<number> {
  const paths = resolveReplicatedPaths();
  const t0 = Date.now();
  const started: string[] = [];
  let child: ChildProcess | undefined;
  let cleaning: Promise<void> | undefined;
  const cleanup = () =>
    (cleaning ??= (async () => {
      if (started.length === 0) return;
      log(`stopping what this run started: ${started.join(', ')}`);
      await downReplicated(paths, log, started);
      if (started.length === REPLICATED_NODES.length) purge(paths, log);
    })());
  const onSignal = (sig: NodeJS.Signals) => {
    if (child && child.exitCode === null) {
      child.kill(sig);
      return;
    }
    void cleanup().finally(() => process.exit(sig === 'SIGINT' ? 130 : 143));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let env: Record<string, string>;
  try {
    env = await upReplicated(paths, log, started);
  } catch (err) {
    process.stderr.write(`infra: ${(err as Error).message}\n`);
    await cleanup();
    return 1;
  }
  const tUp = Date.now();
  const bin = join(REPO_ROOT, 'node_modules', '.bin', 'vitest');
  const args = ['run', '--config', REPLICATED_VITEST_CONFIG, ...vitestArgs];
  const [cmd, argv] = existsSync(bin) ? [bin, args] : ['npx', ['vitest', ...args]];
  log(`running: vitest ${args.join(' ')}`);
  const code = await new Promise<number>((resolve) => {
    child = spawn(cmd, argv, { cwd: REPO_ROOT, stdio: 'inherit', env: { ...process.env, ...env, CHAT_INFRA_PROFILE: 'replicated' } });
    child.on('error', (err) => {
      process.stderr.write(`infra: could not run vitest: ${err.message}\n`);
      resolve(1);
    });
    child.on('exit', (c, sig) => resolve(c ?? (sig === 'SIGINT' ? 130 : 1)));
  });
  const tTests = Date.now();
  await cleanup();
  const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  log(`replicated run: profile up ${s(tUp - t0)}, tests ${s(tTests - tUp)}, stop ${s(Date.now() - tTests)}, total ${s(Date.now() - t0)}`);
  return code;
}
