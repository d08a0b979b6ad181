/**
 * The processes that make the system and the variables that wire them to each other: one copy for
 * `npm start` (services.ts) and the benchmarks (bench/src/system), which differ only in ports and
 * names. Shared variables (Redis, Kafka, JWT, REDIS_KEY_PREFIX, …) come from the caller.
 */
export interface Topology {
  /** chat-service's public REST port (the api process). */
  chatHttpPort: number;
  /** The api process's internal listener: the internal API gateways call. */
  chatInternalPort: number;
  /** The sequencer process's internal listener (health and metrics). */
  sequencerInternalPort: number;
  /** One presence-service instance per internal API port; every gateway lists them all. */
  presencePorts: readonly number[];
  /** One gateway per public WebSocket port. */
  gatewayPorts: readonly number[];
  /** Each gateway's internal listener, by index; absent: 0 (a free port, logged). */
  gatewayInternalPorts?: readonly number[];
  /** The notifier's internal listener; absent: no notifier. */
  notifierInternalPort?: number;
  /** The browser chat client's port (shared/web-client); absent: no web client. */
  webClientPort?: number;
  /** What the second chat-service process runs. @default 'sequencer' */
  sequencerRoles?: string;
  /** Process names. @default { api: 'chat-api', sequencer: 'sequencer', presence: 'presence', notifier: 'notifier', web: 'web' }; presence instances are <presence>-1, -2, … when there are several; gateways are gw-1, gw-2, … */
  names?: Partial<Record<'api' | 'sequencer' | 'presence' | 'notifier' | 'web', string>>;
  /** GATEWAY_ID of the gateway named `name`. @default the name */
  gatewayId?: (name: string) => string;
}

export interface SystemProcess {
  name: string;
  /** Main file relative to the repository root. */
  main: string;
  /** Node/V8 flags of this process (before the main file); the images run the same. */
  nodeFlags: readonly string[];
  /** Variables of this process on top of the shared ones. */
  env: Record<string, string>;
  /** The port that accepts connections once the process is up; absent: none to wait for. */
  port?: number;
}

const HOST = '127.0.0.1';

/**
 * V8 flags of every gateway process, here, in deploy/docker/gateway.Dockerfile's CMD (compose
 * and Kubernetes run that image) and in the benchmarks. A gateway holds tens of thousands of
 * long-lived sockets and allocates in bursts (connect ramps, refreshes, presence reports); the
 * garbage of a burst that outlives two scavenges lands in old space between the sockets' objects,
 * and V8's defaults let old space grow to several times the live heap and keep it. Measured in the
 * connections benchmark (16,667 connections per gateway, one flag set per gateway in one run): RSS
 * per connection 3,470 B with V8's defaults, 4,844 B with only a 1 MB semi-space (more garbage
 * promoted), 2,708 B adding a 30% heap growing factor (bare uWS 1,119 B). An 8 MB semi-space
 * instead of 1 MB promotes less of the ramp's garbage: in five whole runs on one machine, 1,894 /
 * 2,128 / 2,082 B per connection with 8 MB against 2,351 / 2,234 B with 1 MB. The part-empty pages
 * a large ramp leaves are compacted once the ramp is over (the gateway's heap settler), not in
 * every full collection: `--compact-on-every-full-gc` gave about the same memory (1,642-2,007 B per
 * connection; 1,826-2,038 B with the settler instead) but paused each gateway for 200-570 ms two
 * or three times per half-minute in the direct benchmark at 1,000 msg/s (2026-12-03 machine).
 */
export const GATEWAY_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=8', '--heap-growing-percent=30'];

/**
 * Environment of every gateway process, here, in deploy/docker/gateway.Dockerfile and in the
 * benchmarks. glibc gives each thread that allocates its own malloc arena (up to eight per core),
 * and a gateway's V8 helper threads and libuv pool touch theirs during the connect ramp and then
 * keep those pages. Two arenas: 1,674 / 1,536 B of RSS per connection in the connections
 * benchmark (100,000 connections on six gateways) against 2,068 / 2,206 B without, on the same
 * machine the same hour (bare uWS 1,105–1,116 B); the ramp's CPU per connection did not change.
 */
export const GATEWAY_PROCESS_ENV: Readonly<Record<string, string>> = { MALLOC_ARENA_MAX: '2' };

/**
 * V8 flags of chat-service (API and sequencer), here, in deploy/docker/chat-service.Dockerfile's
 * CMD and in the benchmarks. Both allocate short-lived objects per message (JSON, Kafka record
 * encoding and decoding, driver rows); with V8's default 16 MB semi-space the scavenger ran so
 * often that garbage collection took 14.5% (API) and 12.2% (sequencer) of their CPU profiles in
 * the `direct` benchmark, 10.3% and 7.2% with 64 MB. Cost, as peak RSS in `reconnect-storm`: 222–237 MiB
 * (API) and 248–269 MiB (sequencer) with it, 158–187 MiB each without.
 */
export const CHAT_SERVICE_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=64'];

/** The processes of `t`, in start order (chat-service and presence-service before the gateways that call them). */
export function systemProcesses(t: Topology): SystemProcess[] {
  const names = { api: 'chat-api', sequencer: 'sequencer', presence: 'presence', notifier: 'notifier', web: 'web', ...t.names };
  const backends = {
    CHAT_SERVICE_URL: `http://${HOST}:${t.chatInternalPort}`,
    PRESENCE_SERVICE_URL: t.presencePorts.map((p) => `http://${HOST}:${p}`).join(','),
  };
  const chat = 'chat-service/dist/main.js';
  const out: SystemProcess[] = [
    // The HTTP API and the sequencer consumer run as separate processes, as they would in production.
    {
      name: names.api,
      main: chat,
      nodeFlags: CHAT_SERVICE_NODE_FLAGS,
      port: t.chatHttpPort,
      env: { CHAT_SERVICE_ROLES: 'api', CHAT_HTTP_PORT: String(t.chatHttpPort), CHAT_INTERNAL_PORT: String(t.chatInternalPort) },
    },
    {
      name: names.sequencer,
      main: chat,
      nodeFlags: CHAT_SERVICE_NODE_FLAGS,
      env: { CHAT_SERVICE_ROLES: t.sequencerRoles ?? 'sequencer', CHAT_INTERNAL_PORT: String(t.sequencerInternalPort) },
    },
  ];
  // Presence state lives in Redis; instances share it and gateways spread their calls over them.
  t.presencePorts.forEach((port, i) => {
    const name = t.presencePorts.length > 1 ? `${names.presence}-${i + 1}` : names.presence;
    out.push({ name, main: 'presence-service/dist/main.js', nodeFlags: [], port, env: { PRESENCE_HTTP_PORT: String(port) } });
  });
  // Pushes to offline users; without FCM credentials it logs what it would push (a local fake FCM).
  if (t.notifierInternalPort !== undefined)
    out.push({ name: names.notifier, main: 'notifier/dist/main.js', nodeFlags: [], env: { NOTIFIER_INTERNAL_PORT: String(t.notifierInternalPort) } });
  t.gatewayPorts.forEach((port, i) => {
    const name = `gw-${i + 1}`;
    out.push({
      name,
      main: 'gateway/dist/main.js',
      nodeFlags: GATEWAY_NODE_FLAGS,
      port,
      env: {
        ...GATEWAY_PROCESS_ENV,
        ...backends,
        GATEWAY_PORT: String(port),
        GATEWAY_INTERNAL_PORT: String(t.gatewayInternalPorts?.[i] ?? 0),
        GATEWAY_ID: t.gatewayId?.(name) ?? name,
      },
    });
  });
  // The browser client talks to the public ports only: the gateways (the first is preselected) and the REST API.
  if (t.webClientPort !== undefined)
    out.push({
      name: names.web,
      main: 'shared/web-client/dist/server/main.js',
      nodeFlags: [],
      port: t.webClientPort,
      env: {
        WEB_CLIENT_PORT: String(t.webClientPort),
        WEB_CLIENT_GATEWAY_URLS: t.gatewayPorts.map((port) => `ws://${HOST}:${port}/ws`).join(','),
        WEB_CLIENT_API_URL: `http://${HOST}:${t.chatHttpPort}`,
      },
    });
  return out;
}
