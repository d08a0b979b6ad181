import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { waitFor } from './wait.js';

export interface LoggedProcess {
  child: ChildProcess;
  exited: Promise<void>;
}

/**
 * Spawns `command` with its output appended to `logFile` and resolves once a line written after
 * this start contains `readyLine` and, with `readyPort`, that port accepts connections (Cassandra logs
 * "Starting listening for CQL clients" just before it binds the port). If the process exits or the wait times out, it is SIGKILLed
 * (after SIGCONT, in case it was paused) and the error is thrown.
 */
export async function spawnUntilLogged(
  command: string,
  args: string[],
  o: { cwd: string; logFile: string; readyLine: string; readyPort?: number; name: string; timeoutMs: number },
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
        if (!readFileSync(o.logFile, 'utf8').slice(from).includes(o.readyLine)) return false;
        return o.readyPort === undefined || accepts(o.readyPort);
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

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
