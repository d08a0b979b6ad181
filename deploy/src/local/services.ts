import { systemProcesses } from './topology.js';

/** The processes `npm start` runs on top of the local infrastructure. */
export interface ServiceSpec {
  name: string;
  /** Executable; `node` means the current Node binary. */
  command: string;
  /** Arguments; the first path-like argument is the main file that must exist. */
  args: string[];
  /** The file that must exist (relative to the repo root) for the entry to be started. */
  main: string;
  env?: Record<string, string>;
}

const node = (main: string, env: Record<string, string> = {}, nodeFlags: readonly string[] = []): Pick<ServiceSpec, 'command' | 'args' | 'main' | 'env'> => ({
  command: 'node',
  args: ['--enable-source-maps', ...nodeFlags, main],
  main,
  env,
});

/** The browser chat client's port under npm start. */
export const WEB_CLIENT_PORT = 8088;

// Public ports: REST 8080, WebSocket 8081/8082, the browser chat client 8088. Internal listeners (internal API, /healthz,
// /metrics): chat-api 8085, sequencer 8084, presence 8083 and 8087, notifier 8086, gateways 8091/8092.
export const SERVICES: readonly ServiceSpec[] = systemProcesses({
  chatHttpPort: 8080,
  chatInternalPort: 8085,
  sequencerInternalPort: 8084,
  // The inbox writer (everything new, the conversation list, unread counts) runs beside the sequencer.
  sequencerRoles: 'sequencer,inbox',
  // Two presence-service instances: presence and typing keep working when one is lost.
  presencePorts: [8083, 8087],
  notifierInternalPort: 8086,
  gatewayPorts: [8081, 8082],
  gatewayInternalPorts: [8091, 8092],
  webClientPort: WEB_CLIENT_PORT,
}).map((p) => ({ name: p.name, ...node(p.main, p.env, p.nodeFlags) }));

export const CONNECT_HINT = [
  `browser chat client: http://127.0.0.1:${WEB_CLIENT_PORT} (sign in as any user id, e.g. alice in one tab and bob in another)`,
  'connect a WebSocket client to ws://127.0.0.1:8081/ws (or ws://127.0.0.1:8082/ws)',
  'with a development token: npm run token -- <user>',
];
