import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { waitFor } from './wait.js';

export interface LoggedProcess {
  child: ChildProcess;
  exited: Promise<void>;
}

/**
 * Spawns `command` with its output appended to `logFile` and resolves once a line written after
 * this start contains `readyLine`. If the process exits or the wait times out, it is SIGKILLed
 * (after SIGCONT, in case it was paused) and the error is thrown.
 */
export async function spawnUntilLogged(
  command: string,
  args: string[],
  o: { cwd: string; logFile: string; readyLine: string; name: string; timeoutMs: number },
): Promise<LoggedProcess> {
  const from = readFileSync(o.logFile, 'utf8').length;
  const out = openSync(o.logFile, 'a');
  const child = spawn(command, args, { cwd: o.cwd, stdio: ['ignore', out, out] });
  closeSync(out);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await waitFor(
      () => {
        if (child.exitCode !== null) throw new Error(`${o.name} exited with ${child.exitCode}; see ${o.logFile}`);
        return readFileSync(o.logFile, 'utf8').slice(from).includes(o.readyLine);
      },
      o.timeoutMs,
      `${o.name} to start`,
    );
  } catch (err) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGCONT');
      child.kill('SIGKILL');
      await exited;
    }
    throw err;
  }
  return { child, exited };
}
