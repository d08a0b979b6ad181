import { describe, expect, it } from 'vitest';
import { CONNECT_HINT, SERVICES, WEB_CLIENT_PORT } from './services.js';
import { CHAT_SERVICE_NODE_FLAGS, GATEWAY_NODE_FLAGS, GATEWAY_PROCESS_ENV, systemProcesses } from './topology.js';

const base = { chatHttpPort: 8080, chatInternalPort: 8085, sequencerInternalPort: 8084, presencePorts: [8083], gatewayPorts: [8081, 8082] };

describe('systemProcesses: the browser client', () => {
  it('is started last, pointed at every gateway (the first preselected) and at the public REST API', () => {
    const web = systemProcesses({ ...base, webClientPort: 9000 }).at(-1);
    expect(web).toEqual({
      name: 'web',
      main: 'shared/web-client/dist/server/main.js',
      nodeFlags: [],
      port: 9000,
      env: { WEB_CLIENT_PORT: '9000', WEB_CLIENT_GATEWAY_URLS: 'ws://127.0.0.1:8081/ws,ws://127.0.0.1:8082/ws', WEB_CLIENT_API_URL: 'http://127.0.0.1:8080' },
    });
  });

  it('is absent without a port (the benchmarks run none)', () => {
    expect(systemProcesses(base).map((p) => p.name)).toEqual(['chat-api', 'sequencer', 'presence', 'gw-1', 'gw-2']);
  });

  it('runs under npm start, whose start lines print its address', () => {
    expect(SERVICES.map((s) => s.name)).toContain('web');
    expect(CONNECT_HINT.join('\n')).toContain(`http://127.0.0.1:${WEB_CLIENT_PORT}`);
  });
});

describe('systemProcesses: V8 flags', () => {
  it('every gateway runs with GATEWAY_NODE_FLAGS and chat-service with CHAT_SERVICE_NODE_FLAGS, under npm start too; the other processes with none', () => {
    const flagsOf: Record<string, readonly string[]> = { 'gateway/dist/main.js': GATEWAY_NODE_FLAGS, 'chat-service/dist/main.js': CHAT_SERVICE_NODE_FLAGS };
    for (const p of systemProcesses(base)) expect(p.nodeFlags).toEqual(flagsOf[p.main] ?? []);
    const gateway = SERVICES.find((s) => s.name === 'gw-1')!;
    expect(gateway.args).toEqual(['--enable-source-maps', ...GATEWAY_NODE_FLAGS, 'gateway/dist/main.js']);
    const sequencer = SERVICES.find((s) => s.name === 'sequencer')!;
    expect(sequencer.args).toEqual(['--enable-source-maps', ...CHAT_SERVICE_NODE_FLAGS, 'chat-service/dist/main.js']);
  });

  it('every gateway, under npm start too, runs with GATEWAY_PROCESS_ENV; no other process does', () => {
    for (const p of systemProcesses(base)) {
      for (const [k, v] of Object.entries(GATEWAY_PROCESS_ENV)) expect(p.env[k]).toBe(p.main === 'gateway/dist/main.js' ? v : undefined);
    }
    expect(SERVICES.find((s) => s.name === 'gw-1')!.env).toMatchObject(GATEWAY_PROCESS_ENV);
  });
});
