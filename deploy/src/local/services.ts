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

const node = (main: string, env: Record<string, string> = {}): Pick<ServiceSpec, 'command' | 'args' | 'main' | 'env'> => ({
  command: 'node',
  args: ['--enable-source-maps', main],
  main,
  env,
});

// Public ports: REST 8080, WebSocket 8081/8082. Internal listeners (internal API, /healthz,
// /metrics): chat-api 8085, sequencer 8084, presence 8083, notifier 8086, gateways 8091/8092.
export const SERVICES: readonly ServiceSpec[] = [
  // The HTTP API and the sequencer consumer run as separate processes, as they would in production.
  { name: 'chat-api', ...node('chat-service/dist/main.js', { CHAT_HTTP_PORT: '8080', CHAT_INTERNAL_PORT: '8085', CHAT_SERVICE_ROLES: 'api' }) },
  { name: 'sequencer', ...node('chat-service/dist/main.js', { CHAT_SERVICE_ROLES: 'sequencer', CHAT_INTERNAL_PORT: '8084' }) },
  { name: 'presence', ...node('presence-service/dist/main.js') },
  // Pushes to offline users; without FCM credentials it logs what it would push (a local fake FCM).
  { name: 'notifier', ...node('notifier/dist/main.js', { NOTIFIER_INTERNAL_PORT: '8086' }) },
  { name: 'gw-1', ...node('gateway/dist/main.js', { GATEWAY_PORT: '8081', GATEWAY_INTERNAL_PORT: '8091', GATEWAY_ID: 'gw-1', CHAT_SERVICE_URL: 'http://127.0.0.1:8085' }) },
  { name: 'gw-2', ...node('gateway/dist/main.js', { GATEWAY_PORT: '8082', GATEWAY_INTERNAL_PORT: '8092', GATEWAY_ID: 'gw-2', CHAT_SERVICE_URL: 'http://127.0.0.1:8085' }) },
];

export const CONNECT_HINT = [
  'connect a WebSocket client to ws://127.0.0.1:8081/ws (or ws://127.0.0.1:8082/ws)',
  'with a development token: npm run token -- <user>',
];
