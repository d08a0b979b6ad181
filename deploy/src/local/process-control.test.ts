import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { belongsToUs, isAlive, readPidFile, runningPid, spawnDetached, stopProcess, tailFile } from './process-control.js';

const dir = mkdtempSync(join(tmpdir(), 'chat-infra-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('process control', () => {
  it('spawns a detached daemon with pid file and log, recognises it, stops it', async () => {
    const pidFile = join(dir, 'run', 'x.pid');
    const logFile = join(dir, 'logs', 'x.log');
    const pid = spawnDetached({
      command: process.execPath,
      args: ['-e', "console.log('hello'); setInterval(() => {}, 1000)"],
      cwd: join(dir, 'x'),
      logFile,
      pidFile,
    });
    expect(readPidFile(pidFile)).toBe(pid);
    expect(isAlive(pid)).toBe(true);
    expect(belongsToUs(pid, dir)).toBe(true);
    expect(runningPid(pidFile, dir)).toBe(pid);
    for (let i = 0; i < 100 && tailFile(logFile, 1) !== 'hello'; i++) await new Promise((r) => setTimeout(r, 50));
    expect(await stopProcess(pid, dir, 5000)).toBe('stopped');
    expect(isAlive(pid)).toBe(false);
    expect(tailFile(logFile, 5)).toBe('hello');
  });

  it('refuses to signal a process that is not ours and drops stale pid files', async () => {
    const other = spawn('sleep', ['30'], { cwd: tmpdir(), stdio: 'ignore' });
    const pid = other.pid!;
    try {
      expect(belongsToUs(pid, dir)).toBe(false);
      expect(await stopProcess(pid, dir, 100)).toBe('gone');
      expect(isAlive(pid)).toBe(true);
      const pidFile = join(dir, 'stale.pid');
      writeFileSync(pidFile, `${pid}\n`);
      expect(runningPid(pidFile, dir)).toBeUndefined();
      expect(readPidFile(pidFile)).toBeUndefined();
    } finally {
      other.kill('SIGKILL');
    }
  });

  it('SIGKILLs a process that ignores SIGTERM', async () => {
    const pid = spawnDetached({
      command: process.execPath,
      args: ['-e', "process.on('SIGTERM', () => {}); console.log('up'); setInterval(() => {}, 1000)"],
      cwd: join(dir, 'y'),
      logFile: join(dir, 'logs', 'y.log'),
      pidFile: join(dir, 'run', 'y.pid'),
    });
    for (let i = 0; i < 50 && tailFile(join(dir, 'logs', 'y.log'), 1) !== 'up'; i++) await new Promise((r) => setTimeout(r, 50));
    expect(await stopProcess(pid, dir, 300)).toBe('killed');
    expect(isAlive(pid)).toBe(false);
  });
});
