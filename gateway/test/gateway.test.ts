import { CloseCodes, Errors } from '@chat/protocol';
import { INTERNAL_PATHS, INTERNAL_TOKEN_HEADER, type GatewayEvent } from '@chat/protocol/internal';
import { TokenVerifier, mintDevToken } from '@chat/server/auth';
import { createLogger } from '@chat/server/logger';
import { RedisSessionRegistry } from '@chat/server/routing';
import { Redis } from 'ioredis';
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { HttpChatServiceClient } from '../src/backend/chat-service-client.js';
import { startGateway, type RunningGateway } from '../src/gateway.js';
import type { GatewayOptions } from '../src/gateway-options.js';
import { RedisKeys } from '@chat/server/redis';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const SECRET = 'gateway-test-secret';
const ISSUER = 'chat-test';
const AUDIENCE = 'chat';
const INTERNAL_TOKEN = 'internal-test-token';
const ORIGIN = 'https://chat.example';
const MAX_FRAME = 1024;
const run = randomBytes(4).toString('hex');
const prefix = `test:gateway:${run}:`;

const log = createLogger('gateway-test', process.env.LOG_LEVEL ?? 'silent');
const token = (userId: string, ttlSeconds = 3600): string => mintDevToken(SECRET, userId, { issuer: ISSUER, audience: AUDIENCE, ttlSeconds });

// ---- fake chat-service ----
interface Recorded {
  path: string | undefined;
  internalToken: string | undefined;
  body: Record<string, unknown>;
}
const received: Recorded[] = [];
let chatServer: Server;

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
}

function startFakeChatService(): Promise<string> {
  chatServer = createServer((req, res) => {
    void readJson(req).then((body) => {
      received.push({ path: req.url, internalToken: req.headers[INTERNAL_TOKEN_HEADER] as string | undefined, body });
      res.setHeader('content-type', 'application/json');
      if (req.url === INTERNAL_PATHS.sendBatch) {
        const results = (body.requests as Record<string, unknown>[]).map((r) =>
          r.conversation_id === '403'
            ? { error: { code: Errors.NOT_MEMBER.code, name: Errors.NOT_MEMBER.name, message: 'not a member', retry: false } }
            : { ok: { conversation_id: r.conversation_id, client_msg_id: r.client_msg_id, message_id: '1001', duplicate: false } },
        );
        res.end(JSON.stringify({ results }));
      } else if (req.url === INTERNAL_PATHS.syncBatch) {
        // Replies far over the socket buffer (a chat-service that ignored max_bytes).
        const pad = 'z'.repeat(200 * 1024);
        const results = (body.requests as unknown[]).map(() => ({
          ok: { conversations: [{ conversation_id: '7', epoch: 'e', status: 'ok', last_seq: 0, messages: [], pad }] },
        }));
        res.end(JSON.stringify({ results }));
      } else {
        res.statusCode = 404;
        res.end(JSON.stringify({ error: { code: Errors.NOT_FOUND.code, name: Errors.NOT_FOUND.name, message: 'no', retry: false } }));
      }
    });
  });
  return new Promise((resolve) => chatServer.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(chatServer.address() as AddressInfo).port}`)));
}

// ---- gateway ----
let redis: Redis;
const subscribers: Redis[] = [];
let chatUrl: string;
let registry: RedisSessionRegistry;
let gw: RunningGateway;
const clientsToClose: HttpChatServiceClient[] = [];

async function startTestGateway(id: string, overrides: Partial<GatewayOptions> = {}): Promise<RunningGateway> {
  const subscriber = redis.duplicate();
  subscribers.push(subscriber);
  const chat = new HttpChatServiceClient({ url: chatUrl, internalToken: INTERNAL_TOKEN, timeoutMs: 2000 });
  clientsToClose.push(chat);
  return startGateway(
    {
      log,
      subscriber,
      registry,
      verifier: new TokenVerifier({ issuer: ISSUER, audience: AUDIENCE, hs256Secret: SECRET, publicKeys: [] }),
      chat,
    },
    {
      gatewayId: id,
      host: '127.0.0.1',
      port: 0,
      internalPort: 0,
      allowedOrigins: [ORIGIN],
      maxConnectionsPerUser: 10,
      maxFrameBytes: MAX_FRAME,
      maxBackpressureBytes: 64 * 1024,
      drainTimeoutMs: 300,
      redisPrefix: prefix,
      metricsEnabled: false,
      ...overrides,
    },
  );
}

// ---- client helper ----
type Frame = Record<string, unknown> & { type: string };

class Client {
  readonly frames: Frame[] = [];
  private waiters: (() => void)[] = [];
  closeCode: number | undefined;
  readonly closed: Promise<number>;

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      this.frames.push(JSON.parse(String(data)) as Frame);
      this.wake();
    });
    this.closed = new Promise((resolve) =>
      ws.on('close', (code) => {
        this.closeCode = code;
        this.wake();
        resolve(code);
      }),
    );
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** The next frame, in order. */
  async next(timeoutMs = 5000): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    while (this.frames.length === 0) {
      if (this.closeCode !== undefined) throw new Error(`socket closed with ${this.closeCode}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('timed out waiting for a frame');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.frames.shift()!;
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }
}

function url(g: RunningGateway = gw, query = ''): string {
  return `ws://127.0.0.1:${g.port}/ws${query}`;
}

/** Opens a socket and consumes its hello frame. */
async function connect(userId: string, g: RunningGateway = gw): Promise<Client> {
  const ws = new WebSocket(url(g), { headers: { authorization: `Bearer ${token(userId)}` } });
  const client = new Client(ws);
  const hello = await client.next();
  expect(hello).toMatchObject({ type: 'hello', protocol: 1, user_id: userId, gateway_id: g.gatewayId });
  return client;
}

/** Expects the upgrade to be refused; returns status and JSON body. */
function refused(address: string, options: WebSocket.ClientOptions = {}, protocols?: string[]): Promise<{ status: number; body: { error: { code: number } } }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(address, protocols, options);
    ws.on('open', () => reject(new Error('upgrade unexpectedly accepted')));
    ws.on('error', () => undefined);
    ws.on('unexpected-response', (_req, res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as { error: { code: number } } });
        ws.terminate();
      });
    });
  });
}

async function until(cond: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

const userKey = (userId: string): string => new RedisKeys(prefix).userConnections(userId);

beforeAll(async () => {
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 2 });
  registry = new RedisSessionRegistry(redis, { prefix, ttlSeconds: 60 });
  chatUrl = await startFakeChatService();
  gw = await startTestGateway(`gw-test-${run}`);
});

afterAll(async () => {
  await gw?.drain();
  await Promise.allSettled(clientsToClose.map((c) => c.close()));
  await new Promise((r) => chatServer?.close(r));
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  await Promise.allSettled([...subscribers.map((s) => s.quit()), redis.quit()]);
});

describe('gateway upgrade', () => {
  it('refuses a bad token with 401 UNAUTHORIZED', async () => {
    const r = await refused(url(), { headers: { authorization: 'Bearer not-a-jwt' } });
    expect(r.status).toBe(Errors.UNAUTHORIZED.httpStatus);
    expect(r.body.error.code).toBe(Errors.UNAUTHORIZED.code);
    const none = await refused(url());
    expect(none.status).toBe(401);
  });

  it('refuses an expired token with 401', async () => {
    const r = await refused(url(), { headers: { authorization: `Bearer ${token('alice', -60)}` } });
    expect(r.status).toBe(401);
    expect(r.body.error.code).toBe(Errors.UNAUTHORIZED.code);
  });

  it('refuses a wrong Origin with 403 and accepts the listed one', async () => {
    const r = await refused(url(), { headers: { authorization: `Bearer ${token('alice')}`, origin: 'https://evil.example' } });
    expect(r.status).toBe(403);
    expect(r.body.error.code).toBe(Errors.ORIGIN_NOT_ALLOWED.code);
    const ok = new Client(new WebSocket(url(), { headers: { authorization: `Bearer ${token('alice')}`, origin: ORIGIN } }));
    expect((await ok.next()).type).toBe('hello');
    ok.ws.close();
  });

  it('closes the socket with TOKEN_EXPIRED when the token expires', async () => {
    const c = new Client(new WebSocket(url(), { headers: { authorization: `Bearer ${token('shortlived', 2)}` } }));
    expect((await c.next()).type).toBe('hello');
    expect(await c.closed).toBe(CloseCodes.TOKEN_EXPIRED.code);
  });

  it('accepts the token in the bearer subprotocol and selects "bearer"', async () => {
    const ws = new WebSocket(url(), ['bearer', token('sub-user')]);
    const c = new Client(ws);
    expect(await c.next()).toMatchObject({ type: 'hello', user_id: 'sub-user' });
    expect(ws.protocol).toBe('bearer');
    ws.close();
  });

  it('accepts the token in ?access_token=', async () => {
    const c = new Client(new WebSocket(url(gw, `?access_token=${token('query-user')}`)));
    expect(await c.next()).toMatchObject({ type: 'hello', user_id: 'query-user' });
    c.ws.close();
  });

  it('refuses the 11th connection of a user with 429, and registers each connection', async () => {
    const clients = await Promise.all(Array.from({ length: 10 }, () => connect('many')));
    expect(await redis.hlen(userKey('many'))).toBe(10);
    const r = await refused(url(), { headers: { authorization: `Bearer ${token('many')}` } });
    expect(r.status).toBe(429);
    expect(r.body.error.code).toBe(Errors.TOO_MANY_CONNECTIONS.code);
    for (const c of clients) c.ws.close();
    await until(async () => (await redis.hlen(userKey('many'))) === 0);
  });
});

describe('gateway frames', () => {
  it('answers malformed JSON with error 4000 and stays usable', async () => {
    const c = await connect('frames');
    c.send('{not json');
    expect(await c.next()).toMatchObject({ type: 'error', code: Errors.BAD_FRAME.code });
    c.send({ type: 'ping', ref: 'p1' });
    expect(await c.next()).toEqual({ type: 'pong', ref: 'p1' });
    c.ws.close();
  });

  it('answers an unknown type with error 4001 echoing ref', async () => {
    const c = await connect('frames');
    c.send({ type: 'dance', ref: 'x1' });
    expect(await c.next()).toMatchObject({ type: 'error', ref: 'x1', code: Errors.UNKNOWN_TYPE.code });
    c.ws.close();
  });

  it('answers a binary frame with INVALID_SHAPE', async () => {
    const c = await connect('frames');
    c.ws.send(Buffer.from('{"type":"ping","ref":"b"}'), { binary: true });
    expect(await c.next()).toMatchObject({ type: 'error', code: Errors.INVALID_SHAPE.code });
    c.ws.close();
  });

  it('closes an oversize frame with MESSAGE_TOO_BIG (1009)', async () => {
    const c = await connect('frames');
    c.send(JSON.stringify({ type: 'ping', ref: 'big', pad: 'x'.repeat(MAX_FRAME + 100) }));
    expect(await c.closed).toBe(CloseCodes.MESSAGE_TOO_BIG.code);
  });

  it('beyond the uWS hard limit (2 x MAX_FRAME_BYTES) uWS drops the connection: 1006', async () => {
    const c = await connect('frames');
    c.send('x'.repeat(3 * MAX_FRAME));
    expect(await c.closed).toBe(1006);
  });

  it('closes with PROTOCOL_VIOLATION after 20 invalid frames', async () => {
    const c = await connect('frames');
    for (let i = 0; i < 20; i++) c.send('nope');
    expect(await c.closed).toBe(CloseCodes.PROTOCOL_VIOLATION.code);
  });

  it('sends with user_id from the token and acks with the same ref', async () => {
    const c = await connect('alice');
    received.length = 0;
    c.send({ type: 'send', ref: 'r-1', conversation_id: '77', client_msg_id: 'cm-1', body: 'hello' });
    expect(await c.next()).toEqual({ type: 'ack', ref: 'r-1', conversation_id: '77', client_msg_id: 'cm-1', message_id: '1001', duplicate: false });
    expect(received).toHaveLength(1);
    expect(received[0]).toMatchObject({ path: INTERNAL_PATHS.sendBatch, internalToken: INTERNAL_TOKEN });
    expect(received[0]!.body).toEqual({
      requests: [{ user_id: 'alice', conversation_id: '77', client_msg_id: 'cm-1', body: 'hello' }],
      budget_ms: expect.any(Number),
    });
    // the remaining send deadline (SEND_DEADLINE_MS, default 5000) minus the margin for the reply
    expect((received[0]!.body as { budget_ms: number }).budget_ms).toBeLessThanOrEqual(4750);
    c.ws.close();
  });

  it('turns a chat-service error into an error frame with the same ref', async () => {
    const c = await connect('alice');
    c.send({ type: 'send', ref: 'r-2', conversation_id: '403', client_msg_id: 'cm-2', body: 'hello' });
    expect(await c.next()).toMatchObject({ type: 'error', ref: 'r-2', code: Errors.NOT_MEMBER.code, retry: false });
    c.ws.close();
  });
});

describe('gateway delivery', () => {
  const publish = (g: RunningGateway, event: GatewayEvent | string): Promise<number> =>
    redis.publish(new RedisKeys(prefix).gatewayEvents(g.gatewayId), typeof event === 'string' ? event : JSON.stringify(event));

  it("delivers a 'deliver' event's frames in order to every socket of their users and to no one else", async () => {
    const [bob1, bob2, carol] = await Promise.all([connect('bob'), connect('bob'), connect('carol')]);
    await publish(gw, 'garbage'); // dropped, never crashes
    const frame = JSON.stringify({
      type: 'message',
      conversation_id: '5',
      message_id: '9',
      seq: 1,
      epoch: 'e',
      sender_id: 'dave',
      client_msg_id: 'c',
      body: 'hi',
      created_at: 1,
    });
    const second = JSON.stringify({ ...JSON.parse(frame), message_id: '10', seq: 2 });
    await publish(gw, {
      v: 1,
      type: 'deliver',
      deliveries: [
        { user_ids: ['bob'], frame },
        { user_ids: ['bob'], frame: second },
      ],
    });
    for (const bob of [bob1, bob2]) {
      expect(await bob.next()).toEqual(JSON.parse(frame));
      expect(await bob.next()).toEqual(JSON.parse(second));
    }
    // Several frames for the same users: each socket gets all of them, in order.
    await publish(gw, { v: 1, type: 'deliver', deliveries: [{ user_ids: ['bob', 'nobody-here'], frames: [second, frame] }] });
    for (const bob of [bob1, bob2]) {
      expect(await bob.next()).toEqual(JSON.parse(second));
      expect(await bob.next()).toEqual(JSON.parse(frame));
    }
    // The single-delivery form earlier versions publish is still delivered (rolling upgrades).
    await publish(gw, JSON.stringify({ v: 1, type: 'deliver', user_ids: ['bob'], frame }));
    expect(await bob1.next()).toEqual(JSON.parse(frame));
    carol.send({ type: 'ping', ref: 'c1' });
    expect(await carol.next()).toEqual({ type: 'pong', ref: 'c1' });
    for (const c of [bob1, bob2, carol]) c.ws.close();
  });

  it('closes a client that does not read with SLOW_CONSUMER (4400), seen after its backlog', async () => {
    const slow = await connect('slow');
    const socket = (slow.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    socket.pause();
    const frame = JSON.stringify({ type: 'message', pad: 'y'.repeat(32 * 1024) });
    let n = 0;
    while (gw.connections() > 0 && (await redis.hlen(userKey('slow'))) > 0 && n < 2000) {
      await Promise.all(Array.from({ length: 20 }, () => publish(gw, { v: 1, type: 'deliver', deliveries: [{ user_ids: ['slow'], frame }] })));
      n += 20;
    }
    socket.resume();
    expect(await slow.closed).toBe(CloseCodes.SLOW_CONSUMER.code);
  });
});

describe('gateway replies', () => {
  it('item 6: passes a reply budget to chat-service, and a reply that does not fit waits for drain instead of closing the socket', async () => {
    const c = await connect('reader');
    const socket = (c.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    socket.pause();
    const count = 30; // 30 × 200 KB: far beyond the kernel buffers and the 64 KB socket buffer
    for (let i = 0; i < count; i++) c.send({ type: 'sync', ref: `s${i}`, positions: [{ conversation_id: '7', seq: 0 }] });
    const syncs = () => received.filter((r) => r.path === INTERNAL_PATHS.syncBatch).flatMap((r) => r.body.requests as Record<string, unknown>[]);
    await until(() => syncs().length >= 3);
    expect(syncs()[0]?.max_bytes).toBe(16 * 1024);
    await new Promise((r) => setTimeout(r, 500)); // let the buffer fill while the client reads nothing
    socket.resume();
    const refs = new Set<unknown>();
    for (let i = 0; i < count; i++) refs.add((await c.next(10_000)).ref);
    expect(refs).toEqual(new Set(Array.from({ length: count }, (_, i) => `s${i}`)));
    expect(c.closeCode).toBeUndefined();
    c.ws.close();
  });
});

describe('gateway drain', () => {
  it('sends reconnect, then closes with SERVER_RESTART, unregisters and retires the gateway', async () => {
    const g = await startTestGateway(`gw-drain-${run}`);
    const [a, b] = await Promise.all([connect('drainee', g), connect('drainee', g)]);
    expect(await redis.hlen(userKey('drainee'))).toBe(2);
    expect(await redis.exists(new RedisKeys(prefix).gatewayAlive(g.gatewayId))).toBe(1);
    const drained = g.drain();
    for (const c of [a, b]) {
      const f = await c.next();
      expect(f).toMatchObject({ type: 'reconnect', reason: 'server_restart' });
      expect(typeof f.after_ms).toBe('number');
    }
    expect(await a.closed).toBe(CloseCodes.SERVER_RESTART.code);
    expect(await b.closed).toBe(CloseCodes.SERVER_RESTART.code);
    await drained;
    expect(await redis.hlen(userKey('drainee'))).toBe(0);
    expect(await redis.exists(new RedisKeys(prefix).gatewayAlive(g.gatewayId))).toBe(0);
    // no longer accepting
    await expect(
      new Promise((resolve, reject) => {
        const ws = new WebSocket(url(g), { headers: { authorization: `Bearer ${token('late')}` } });
        ws.on('open', () => resolve('open'));
        ws.on('error', reject);
      }),
    ).rejects.toThrow();
  });
});
