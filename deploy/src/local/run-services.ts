import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { REPO_ROOT } from './paths.js';
import { prettyLogLine } from './pretty-log.js';
import type { ServiceSpec } from './services.js';

const COLORS = [36, 33, 35, 32, 34, 31, 96, 93];

export function prefixer(name: string, index: number, width: number, color: boolean): (line: string) => string {
  const label = `[${name}]`.padEnd(width + 2);
  const tag = color ? `\x1b[${COLORS[index % COLORS.length]}m${label}\x1b[0m` : label;
  return (line) => `${tag} ${line}`;
}

export interface RunServicesOptions {
  /** SIGTERM, then SIGKILL after this long. @default 10000 */
  graceMs?: number;
  /** Stops the services (besides SIGINT/SIGTERM to this process). */
  signal?: AbortSignal;
  /** Where output lines go. @default process.stdout */
  write?: (text: string) => void;
  /** Pretty log lines instead of JSON. @default stdout is a TTY and CHAT_LOG_JSON is not set */
  pretty?: boolean;
  /**
   * A crashed service is restarted after a delay doubling from `baseMs` to `capMs`; one that ran
   * `stableMs` before it crashed starts again from `baseMs`.
   * @default { baseMs: 500, capMs: 30000, stableMs: 30000 }
   */
  restart?: { baseMs: number; capMs: number; stableMs: number };
}

/** The delay before restart number `attempt` (1-based): base · 2^(attempt−1), at most cap. */
export function restartDelay(attempt: number, baseMs: number, capMs: number): number {
  return Math.min(capMs, baseMs * 2 ** Math.min(30, attempt - 1));
}

/**
 * Start the services whose main file exists, prefix their output (pretty-printed in a terminal),
 * and supervise them: a service that exits while nothing asked it to stop is restarted with
 * backoff, and the restart is printed (not after exit code 78, a configuration error). Resolves once stopped (SIGINT/SIGTERM to this process, or
 * `options.signal`) and every service has exited: SIGTERM, then SIGKILL after graceMs.
 */
export async function runServices(
  specs: readonly ServiceSpec[],
  env: Record<string, string>,
  log: (m: string) => void,
  options: RunServicesOptions = {},
): Promise<void> {
  const runnable = specs.filter((s) => {
    if (existsSync(join(REPO_ROOT, s.main))) return true;
    log(`warning: skipping ${s.name}: ${s.main} does not exist (not built yet?)`);
    return false;
  });
  if (runnable.length === 0) {
    log('no service to start');
    return;
  }
  const write = options.write ?? ((text: string) => void process.stdout.write(text));
  const tty = Boolean(process.stdout.isTTY);
  const color = options.write === undefined && tty && !process.env.NO_COLOR;
  const pretty = options.pretty ?? (tty && !process.env.CHAT_LOG_JSON);
  const restart = options.restart ?? { baseMs: 500, capMs: 30_000, stableMs: 30_000 };
  const graceMs = options.graceMs ?? 10_000;
  const width = Math.max(...runnable.map((s) => s.name.length));
  let stopping = false;
  const children = new Set<ChildProcess>();
  let wake: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => (wake = resolve));

  const supervise = async (spec: ServiceSpec, index: number): Promise<void> => {
    const fmt = prefixer(spec.name, index, width, color);
    const out = (line: string) => write(`${fmt(pretty ? prettyLogLine(line, color) : line)}\n`);
    let attempt = 0;
    for (;;) {
      const startedAt = Date.now();
      const child = spawn(spec.command === 'node' ? process.execPath : spec.command, spec.args, {
        cwd: REPO_ROOT,
        env: { ...process.env, ...env, ...spec.env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      children.add(child);
      out(`${attempt > 0 ? 'restarted' : 'started'} (pid ${child.pid ?? '?'})`);
      for (const stream of [child.stdout, child.stderr]) if (stream) createInterface({ input: stream }).on('line', out);
      const code = await new Promise<string>((resolve) => {
        child.once('error', (err) => resolve(`failed to start: ${err.message}`));
        child.once('exit', (c, signal) => resolve(signal ?? `code ${c}`));
      });
      children.delete(child);
      if (stopping) {
        out(`exited (${code})`);
        return;
      }
      // EX_CONFIG: the configuration is wrong, and starting again will not fix it.
      if (code === 'code 78') {
        out('exited with a configuration error (78); not restarted');
        return;
      }
      attempt = Date.now() - startedAt >= restart.stableMs ? 1 : attempt + 1;
      const delay = restartDelay(attempt, restart.baseMs, restart.capMs);
      out(`crashed (${code}); restarting in ${delay} ms (restart ${attempt})`);
      await Promise.race([new Promise((resolve) => setTimeout(resolve, delay)), stopped]);
      if (stopping) return;
    }
  };

  const stopAll = (): void => {
    if (stopping) return;
    stopping = true;
    log('stopping services...');
    wake();
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
    const timer = setTimeout(() => {
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    }, graceMs);
    timer.unref();
  };
  process.on('SIGINT', stopAll);
  process.on('SIGTERM', stopAll);
  options.signal?.addEventListener('abort', stopAll, { once: true });
  try {
    await Promise.all(runnable.map((spec, i) => supervise(spec, i)));
  } finally {
    process.off('SIGINT', stopAll);
    process.off('SIGTERM', stopAll);
    options.signal?.removeEventListener('abort', stopAll);
  }
}
