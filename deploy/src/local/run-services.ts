import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { REPO_ROOT } from './paths.js';
import type { ServiceSpec } from './services.js';

const COLORS = [36, 33, 35, 32, 34, 31, 96, 93];

export function prefixer(name: string, index: number, width: number, color: boolean): (line: string) => string {
  const label = `[${name}]`.padEnd(width + 2);
  const tag = color ? `\x1b[${COLORS[index % COLORS.length]}m${label}\x1b[0m` : label;
  return (line) => `${tag} ${line}`;
}

interface Running {
  spec: ServiceSpec;
  child: ChildProcess;
  exited: Promise<number | null>;
}

/**
 * Start the services whose main file exists, prefix their output, restart nothing. Resolves when
 * all have exited; SIGINT/SIGTERM to this process stops them (SIGTERM, then SIGKILL after graceMs).
 */
export async function runServices(specs: readonly ServiceSpec[], env: Record<string, string>, log: (m: string) => void, graceMs = 10_000): Promise<void> {
  const runnable = specs.filter((s) => {
    if (existsSync(join(REPO_ROOT, s.main))) return true;
    log(`warning: skipping ${s.name}: ${s.main} does not exist (not built yet?)`);
    return false;
  });
  if (runnable.length === 0) {
    log('no service to start');
    return;
  }
  const width = Math.max(...runnable.map((s) => s.name.length));
  const color = Boolean(process.stdout.isTTY) && !process.env.NO_COLOR;
  const running: Running[] = runnable.map((spec, i) => {
    const child = spawn(spec.command === 'node' ? process.execPath : spec.command, spec.args, {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env, ...spec.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const fmt = prefixer(spec.name, i, width, color);
    for (const stream of [child.stdout, child.stderr]) {
      if (stream) createInterface({ input: stream }).on('line', (l) => process.stdout.write(fmt(l) + '\n'));
    }
    const exited = new Promise<number | null>((resolve) => {
      child.on('error', (err) => {
        process.stdout.write(fmt(`failed to start: ${err.message}`) + '\n');
        resolve(null);
      });
      child.on('exit', (code, signal) => {
        process.stdout.write(fmt(`exited (${signal ?? `code ${code}`})`) + '\n');
        resolve(code);
      });
    });
    return { spec, child, exited };
  });

  let stopping = false;
  const stopAll = async () => {
    if (stopping) return;
    stopping = true;
    log('stopping services...');
    for (const r of running) if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGTERM');
    const timer = setTimeout(() => {
      for (const r of running) if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGKILL');
    }, graceMs);
    await Promise.all(running.map((r) => r.exited));
    clearTimeout(timer);
  };
  const onSignal = () => void stopAll();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    await Promise.all(running.map((r) => r.exited));
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
