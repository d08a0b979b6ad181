/**
 * Bare pipeline (the `direct` benchmark's floor): ingress and delivery server, one per gateway
 * shard, on the gateway's uWebSockets.js package. It has the product's durable hops and none of
 * its logic: the user id is the token's `sub`, read without verifying the token (no auth work);
 * it answers `hello`; each `send` goes to Kafka (the product's idempotent acks=all producer,
 * coalesced as the product's send path does, keyed by conversation) and is answered with `ack`
 * once Kafka acked it; no membership check, rate limit or idempotency record. It subscribes to
 * its own Redis channel and writes each delivered `message` frame to the named users' sockets
 * here. The consumer (bare-pipeline-consumer.ts) sits between Kafka and that channel.
 *
 * Env: BARE_PORT, BARE_SERVER_INDEX, BARE_TOPIC, BARE_KAFKA_CLIENT (bare-kafka.ts), REDIS_KEY_PREFIX, plus
 * KAFKA_BROKERS and REDIS_URL.
 */
import { Errors, type AckFrame, type ErrorDef, type ErrorFrame, type HelloFrame, type SendFrame } from '@chat/protocol';
import { createRedis, createRedisSubscriber } from '@chat/server/clients';
import { loadConfigVars } from '@chat/server/config';
import { createLogger } from '@chat/server/logger';
import uWS from 'uWebSockets.js';
import { BareBatchProducer } from './bare-batch-producer.js';
import { bareKafkaClientFromEnv, connectBareProducer } from './bare-kafka.js';
import { BARE_WS_SETTINGS } from './bare-ws-settings.js';
import { bareChannel, decodeBareEvent, type BareRecord } from './bare-pipeline-wire.js';

if (process.env.UWS_USE_FALLBACK !== undefined || !Function.prototype.toString.call(uWS.App).includes('[native code]')) {
  process.stderr.write('bare-pipeline-server: uWebSockets.js is not the native binary; refusing to measure the fallback\n');
  process.exit(1);
}

function requiredEnv(name: string): string {
  const v = process.env[name];
  if (v === undefined || v === '') throw new Error(`bare-pipeline-server: ${name} is required`);
  return v;
}

const port = Number(requiredEnv('BARE_PORT'));
const serverIndex = Number(requiredEnv('BARE_SERVER_INDEX'));
if (!Number.isInteger(port) || port <= 0 || !Number.isInteger(serverIndex) || serverIndex < 0) {
  throw new Error('bare-pipeline-server: BARE_PORT and BARE_SERVER_INDEX must be non-negative integers');
}
const topic = requiredEnv('BARE_TOPIC');
const prefix = process.env.REDIS_KEY_PREFIX ?? '';
const config = loadConfigVars(['KAFKA_BROKERS', 'REDIS_URL']);
const log = createLogger('bare-pipeline-server', process.env.LOG_LEVEL || 'warn');

interface Conn {
  userId: string;
  closed: boolean;
}
type Socket = uWS.WebSocket<Conn>;

/** The `sub` of a `Bearer <jwt>` header, decoded without verification; undefined if there is none. */
function subjectOf(authorization: string): string | undefined {
  const payload = /^Bearer [^.]+\.([^.]+)\./.exec(authorization)?.[1];
  if (payload === undefined) return undefined;
  try {
    const sub = (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { sub?: unknown }).sub;
    return typeof sub === 'string' && sub !== '' ? sub : undefined;
  } catch {
    return undefined;
  }
}

function isSendFrame(f: Partial<Record<keyof SendFrame, unknown>>): f is SendFrame {
  return (
    typeof f.ref === 'string' &&
    typeof f.conversation_id === 'string' &&
    f.conversation_id !== '' &&
    typeof f.client_msg_id === 'string' &&
    typeof f.body === 'string'
  );
}

function errorFrame(e: ErrorDef, ref: string | undefined): string {
  return JSON.stringify({
    type: 'error',
    ...(ref !== undefined ? { ref } : {}),
    code: e.code,
    name: e.name,
    message: e.message,
    retry: e.retry,
  } satisfies ErrorFrame);
}

/** Writes outside a uWS handler are corked (one syscall); a closed socket is never touched. */
function write(ws: Socket, text: string): void {
  if (!ws.getUserData().closed) ws.cork(() => ws.send(text));
}

const kafkaProducer = await connectBareProducer(bareKafkaClientFromEnv(), config.KAFKA_BROKERS, `bare-pipeline-server-${serverIndex}`, log);
const producer = new BareBatchProducer(kafkaProducer, topic);
const redis = createRedis(config.REDIS_URL, log, 'bare-pipeline-server');
const subscriber = createRedisSubscriber(redis, log, 'bare-pipeline-server-sub');

const sockets = new Map<string, Set<Socket>>();
let messageIds = 0;
const decoder = new TextDecoder();

function onSend(ws: Socket, f: SendFrame): void {
  const record: BareRecord = {
    conversation_id: f.conversation_id,
    message_id: `${serverIndex}.${++messageIds}`,
    sender_id: ws.getUserData().userId,
    client_msg_id: f.client_msg_id,
    body: f.body,
    created_at: Date.now(),
  };
  producer.send({ key: record.conversation_id, value: JSON.stringify(record) }, (err) => {
    if (err) {
      log.warn({ err: err.message }, 'kafka write failed');
      return write(ws, errorFrame(Errors.UNAVAILABLE, f.ref));
    }
    const ack: AckFrame = {
      type: 'ack',
      ref: f.ref,
      conversation_id: f.conversation_id,
      client_msg_id: f.client_msg_id,
      message_id: record.message_id,
      duplicate: false,
    };
    write(ws, JSON.stringify(ack));
  });
}

const app = uWS.App();
app.ws<Conn>('/ws', {
  ...BARE_WS_SETTINGS,
  upgrade: (res, req, context) => {
    const key = req.getHeader('sec-websocket-key');
    const protocol = req.getHeader('sec-websocket-protocol');
    const extensions = req.getHeader('sec-websocket-extensions');
    const userId = subjectOf(req.getHeader('authorization'));
    if (userId === undefined) {
      res.writeStatus('401 Unauthorized').end();
      return;
    }
    res.upgrade<Conn>({ userId, closed: false }, key, protocol, extensions, context);
  },
  open: (ws) => {
    const { userId } = ws.getUserData();
    let mine = sockets.get(userId);
    if (!mine) sockets.set(userId, (mine = new Set()));
    mine.add(ws);
    const hello: HelloFrame = { type: 'hello', protocol: 1, user_id: userId, connection_id: `${serverIndex}`, gateway_id: `bare-${serverIndex}` };
    ws.send(JSON.stringify(hello));
  },
  message: (ws, message) => {
    let f: Partial<Record<keyof SendFrame, unknown>> & { type?: unknown };
    try {
      f = JSON.parse(decoder.decode(message)) as typeof f;
    } catch {
      ws.send(errorFrame(Errors.BAD_FRAME, undefined));
      return;
    }
    const ref = typeof f?.ref === 'string' ? f.ref : undefined;
    if (f?.type === 'send' && isSendFrame(f)) onSend(ws, f);
    else if (f?.type === 'ping' && ref !== undefined) ws.send(JSON.stringify({ type: 'pong', ref }));
    else ws.send(errorFrame(f?.type === 'send' || f?.type === 'ping' ? Errors.INVALID_SHAPE : Errors.UNKNOWN_TYPE, ref));
  },
  close: (ws) => {
    const conn = ws.getUserData();
    conn.closed = true;
    const mine = sockets.get(conn.userId);
    mine?.delete(ws);
    if (mine?.size === 0) sockets.delete(conn.userId);
  },
});

subscriber.on('message', (_channel: string, text: string) => {
  let deliveries;
  try {
    deliveries = decodeBareEvent(text).deliveries;
  } catch (err) {
    log.warn({ err: (err as Error).message }, 'malformed delivery event');
    return;
  }
  for (const d of deliveries) for (const userId of d.user_ids) for (const ws of sockets.get(userId) ?? []) write(ws, d.frame);
});
await subscriber.subscribe(bareChannel(prefix, serverIndex));

app.listen('127.0.0.1', port, (token) => {
  if (!token) {
    process.stderr.write(`bare-pipeline-server: cannot listen on ${port}\n`);
    process.exit(1);
  }
  process.stdout.write(`bare-pipeline-server ${serverIndex} listening on ${port}\n`);
});

process.on('SIGTERM', () => {
  void Promise.allSettled([kafkaProducer.disconnect(), subscriber.quit(), redis.quit()]).then(() => process.exit(0));
});
