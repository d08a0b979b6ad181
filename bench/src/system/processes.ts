import { fork, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';

interface Managed {
  name: string;
  child: ChildProcess;
  logFile: string;
  exited: boolean;
}

const everyChild = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of everyChild) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

/** The system's processes started by one run; stop() ends every one of them (SIGTERM, then SIGKILL). */
export class ProcessGroup {
  private readonly procs: Managed[] = [];
  private readonly stopHooks: (() => Promise<void>)[] = [];

  constructor(
    private readonly logDir: string,
    private readonly repoRoot: string,
  ) {
    mkdirSync(logDir, { recursive: true });
  }

  /** Starts `node [nodeFlags] <main>` with its output appended to <logDir>/<name>.log. */
  start(name: string, main: string, env: Record<string, string>, ipc = false, nodeFlags: readonly string[] = []): ChildProcess {
    const logFile = join(this.logDir, `${name}.log`);
    const fd = openSync(logFile, 'a');
    const opts = { cwd: this.repoRoot, env: { ...process.env, ...env }, stdio: ['ignore', fd, fd, ...(ipc ? ['ipc'] : [])] as ('ignore' | number | 'ipc')[] };
    // BENCH_PROFILE_DIR=<dir> writes a V8 CPU profile of every system process (chrome://inspect, speedscope).
    const profile = process.env.BENCH_PROFILE_DIR
      ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}`, `--cpu-prof-name=${name}.cpuprofile`]
      : [];
    const child = ipc
      ? fork(join(this.repoRoot, main), [], { ...opts, execArgv: [...nodeFlags] })
      : spawn(process.execPath, [...profile, ...nodeFlags, join(this.repoRoot, main)], opts);
    closeSync(fd);
    const m: Managed = { name, child, logFile, exited: false };
    everyChild.add(child);
    child.on('exit', () => {
      m.exited = true;
      everyChild.delete(child);
    });
    this.procs.push(m);
    return child;
  }

  pids(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const p of this.procs) if (!p.exited && p.child.pid) out[p.name] = p.child.pid;
    return out;
  }

  /** Waits until 127.0.0.1:port accepts connections; fails fast when the process exits. */
  async waitForPort(name: string, port: number, timeoutMs = 60_000): Promise<void> {
    const m = this.procs.find((p) => p.name === name);
    if (!m) throw new Error(`unknown process ${name}`);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (m.exited) throw new Error(`${name} exited during start-up; last log lines:\n${tail(m.logFile, 15)}`);
      if (await canConnect(port)) return;
      if (Date.now() > deadline) throw new Error(`${name} not listening on ${port} after ${timeoutMs} ms; log:\n${tail(m.logFile, 15)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** Processes that exited although nobody stopped them. */
  crashed(): string[] {
    return this.procs.filter((p) => p.exited).map((p) => `${p.name} (exit ${p.child.exitCode ?? p.child.signalCode})`);
  }

  /** Runs `hook` after a full stop(), when every process has ended (e.g. to delete run topics). */
  onStop(hook: () => Promise<void>): void {
    this.stopHooks.push(hook);
  }

  async stop(name?: string): Promise<void> {
    const targets = this.procs.filter((p) => !p.exited && (name === undefined || p.name === name));
    await Promise.all(
      targets.map(
        (p) =>
          new Promise<void>((resolve) => {
            const timer = setTimeout(() => p.child.kill('SIGKILL'), 8000);
            p.child.once('exit', () => {
              clearTimeout(timer);
              resolve();
            });
            p.child.kill('SIGTERM');
          }),
      ),
    );
    if (name !== undefined) this.procs.splice(0, this.procs.length, ...this.procs.filter((p) => p.name !== name));
    else for (const hook of this.stopHooks.splice(0)) await hook().catch(() => undefined);
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

function tail(file: string, n: number): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-n).join('\n');
  } catch {
    return '(no log)';
  }
}
