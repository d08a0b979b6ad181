import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { freePort, waitFor } from './wait.js';

export { freePort, waitFor };

const GATEWAY_MAIN = fileURLToPath(new URL('../../../gateway/dist/main.js', import.meta.url));

/** A gateway running as its own process (gateway/dist/main.js), so a test can SIGKILL it. */
export interface GatewayProcess {
  id: string;
  port: number;
  /** The internal listener (/healthz, /metrics). */
  internalPort: number;
  url: string;
  child: ChildProcess;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** Starts gateway/dist/main.js with `env` plus its id and a free port; resolves once its internal /healthz answers. */
export async function spawnGateway(env: NodeJS.ProcessEnv, id: string): Promise<GatewayProcess> {
  const [port, internalPort] = [await freePort(), await freePort()];
  const child = spawn(process.execPath, [GATEWAY_MAIN], {
    env: { ...env, GATEWAY_ID: id, GATEWAY_PORT: String(port), GATEWAY_INTERNAL_PORT: String(internalPort) },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`gateway ${id} exited with ${child.exitCode}`);
      return fetch(`http://127.0.0.1:${internalPort}/healthz`).then(
        (r) => r.ok,
        () => false,
      );
    },
    15_000,
    `gateway ${id} to listen`,
  );
  return {
    id,
    port,
    internalPort,
    url: `ws://127.0.0.1:${port}/ws`,
    child,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}

/** Opens a WebSocket with a bearer token; resolves with the socket once open, or the HTTP status of a refused upgrade. */
export function tryConnect(url: string, token: string): Promise<{ ws: WebSocket } | { status: number }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers: { authorization: `Bearer ${token}` } });
    ws.once('open', () => resolve({ ws }));
    ws.once('unexpected-response', (_req, res) => {
      resolve({ status: res.statusCode ?? 0 });
      res.resume();
      ws.terminate();
    });
    ws.once('error', (err) => reject(err));
  });
}
