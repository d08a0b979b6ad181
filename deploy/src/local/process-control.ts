import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** Pid from a pid file, or undefined when missing / unparsable. */
export function readPidFile(file: string): number | undefined {
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, 'utf8').trim());
  return Number.isInteger(pid) && pid > 1 ? pid : undefined;
}

export function writePidFile(file: string, pid: number): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${pid}\n`);
}

export function removePidFile(file: string): void {
  rmSync(file, { force: true });
}

/** True if the process exists and is not a zombie. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false; // vanished between the two checks
  }
}

/**
 * A pid file may be stale and its pid reused by an unrelated process. Ours always
 * either run with their working directory inside `marker` (our data dir) or carry it
 * on their command line.
 */
export function belongsToUs(pid: number, marker: string): boolean {
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
    if (cmdline.includes(marker)) return true;
  } catch {
    return false;
  }
  try {
    const cwd = readlinkSync(`/proc/${pid}/cwd`);
    return cwd === marker || cwd.startsWith(`${marker}/`);
  } catch {
    return false;
  }
}

/** Pid recorded in the pid file if that process is alive and ours; removes a stale pid file. */
export function runningPid(pidFile: string, marker: string): number | undefined {
  const pid = readPidFile(pidFile);
  if (pid === undefined) return undefined;
  if (isAlive(pid) && belongsToUs(pid, marker)) return pid;
  removePidFile(pidFile);
  return undefined;
}

export interface DetachedOptions {
  command: string;
  args: string[];
  cwd: string;
  logFile: string;
  pidFile: string;
  env?: NodeJS.ProcessEnv;
}

/** Start a daemon in its own session, stdout+stderr appended to logFile, pid recorded. */
export function spawnDetached(o: DetachedOptions): number {
  mkdirSync(dirname(o.logFile), { recursive: true });
  mkdirSync(o.cwd, { recursive: true });
  const fd = openSync(o.logFile, 'a');
  try {
    const child = spawn(o.command, o.args, {
      cwd: o.cwd,
      detached: true,
      stdio: ['ignore', fd, fd],
      env: o.env ?? process.env,
    });
    if (child.pid === undefined) throw new Error(`could not spawn ${o.command}`);
    // Swallow the async spawn error (e.g. ENOENT); liveness checks report it.
    child.on('error', () => undefined);
    child.unref();
    writePidFile(o.pidFile, child.pid);
    return child.pid;
  } finally {
    closeSync(fd);
  }
}

/** Run a command to completion, output appended to logFile; rejects on non-zero exit. */
export function runToCompletion(command: string, args: string[], opts: { cwd: string; logFile?: string; env?: NodeJS.ProcessEnv }): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    let fd: number | undefined;
    if (opts.logFile) {
      mkdirSync(dirname(opts.logFile), { recursive: true });
      fd = openSync(opts.logFile, 'a');
    }
    const stdio: ['ignore', number | 'pipe', number | 'pipe'] = fd === undefined ? ['ignore', 'pipe', 'pipe'] : ['ignore', fd, fd];
    const child = spawn(command, args, { cwd: opts.cwd, stdio, env: opts.env ?? process.env });
    let output = '';
    child.stdout?.on('data', (b: Buffer) => (output = (output + b.toString()).slice(-8000)));
    child.stderr?.on('data', (b: Buffer) => (output = (output + b.toString()).slice(-8000)));
    child.on('error', (err) => {
      if (fd !== undefined) closeSync(fd);
      reject(err);
    });
    child.on('exit', (code, signal) => {
      if (fd !== undefined) closeSync(fd);
      if (code === 0) resolvePromise();
      else {
        const where = opts.logFile ? ` (see ${opts.logFile})` : '';
        reject(new Error(`${command} ${args.join(' ')} exited with ${code ?? signal}${where}${output ? `\n${output.trim()}` : ''}`));
      }
    });
  });
}

/**
 * SIGTERM, wait up to graceMs, then SIGKILL. Refuses to signal a pid that is not ours.
 * Resolves once the process is gone.
 */
export async function stopProcess(pid: number, marker: string, graceMs: number): Promise<'stopped' | 'killed' | 'gone'> {
  if (!isAlive(pid)) return 'gone';
  if (!belongsToUs(pid, marker)) return 'gone';
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return 'gone';
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return reaped(pid, 'stopped');
    await sleep(100);
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return reaped(pid, 'stopped');
  }
  for (let i = 0; i < 100 && isAlive(pid); i++) await sleep(50);
  return reaped(pid, 'killed');
}

/** A detached daemon is reaped by init, not by us: give it a moment so `ps` is clean afterwards. */
async function reaped<T>(pid: number, result: T): Promise<T> {
  for (let i = 0; i < 100 && existsSync(`/proc/${pid}`); i++) await sleep(50);
  return result;
}

/** Last `lines` lines of a file (reads at most the last 1 MiB). */
export function tailFile(file: string, lines: number): string {
  if (!existsSync(file)) return '';
  const size = statSync(file).size;
  const len = Math.min(size, 1024 * 1024);
  const buf = Buffer.alloc(len);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, buf, 0, len, size - len);
  } finally {
    closeSync(fd);
  }
  const text = buf.toString('utf8');
  const all = text.split('\n');
  if (all[all.length - 1] === '') all.pop();
  return all.slice(-lines).join('\n');
}
