/**
 * Baseline: a bare uWebSockets.js server (same package and version as the gateway) with no auth,
 * no Redis, no routing. It accepts ws://127.0.0.1:<BARE_PORT>/ws, says hello, answers ping with
 * pong and subscribes every socket to one topic. Over IPC the coordinator asks it to publish to
 * that topic: a burst (the uWS publish rate to N subscribers on this machine), or messages paced
 * `intervalMs` apart (how long the same clients take to receive a publish when nothing queues:
 * the floor for last-recipient latency); or for its live heap after a full GC (the same
 * measurement as the gateway's GET /debug/heap).
 */
import { performance } from 'node:perf_hooks';
import type { MessageFrame } from '@chat/protocol';
import { measureLiveHeap } from '@chat/server/health';
import uWS from 'uWebSockets.js';
import { BARE_WS_SETTINGS } from './bare-ws-settings.js';

if (process.env.UWS_USE_FALLBACK !== undefined || !Function.prototype.toString.call(uWS.App).includes('[native code]')) {
  process.stderr.write('bare-uws-server: uWebSockets.js is not the native binary; refusing to measure the fallback\n');
  process.exit(1);
}

const port = Number(process.env.BARE_PORT ?? '0');
const TOPIC = 'all';
const now = (): number => performance.timeOrigin + performance.now();
const decoder = new TextDecoder();

const app = uWS.App();
app.ws<{ n: number }>('/ws', {
  ...BARE_WS_SETTINGS,
  upgrade: (res, req, context) => {
    // Read what the gateway reads before upgrading, so the per-connection work is comparable in kind.
    const key = req.getHeader('sec-websocket-key');
    const protocol = req.getHeader('sec-websocket-protocol');
    const extensions = req.getHeader('sec-websocket-extensions');
    req.getHeader('authorization');
    res.upgrade({ n: 0 }, key, protocol, extensions, context);
  },
  open: (ws) => {
    ws.subscribe(TOPIC);
    ws.send('{"type":"hello","protocol":1,"user_id":"bare","connection_id":"bare","gateway_id":"bare"}');
  },
  message: (ws, message) => {
    const text = decoder.decode(message);
    const m = /"ref":"([^"]*)"/.exec(text);
    if (text.includes('"type":"ping"')) ws.send(`{"type":"pong","ref":"${m?.[1] ?? ''}"}`);
  },
});

let seq = 0;
interface PublishRequest {
  id: number;
  type: 'publish';
  count: number;
  tag: string;
  /** Pause between publishes; absent or 0: back to back (a burst). */
  intervalMs?: number;
}
interface HeapRequest {
  id: number;
  type: 'heap';
}

process.on('message', (req: PublishRequest | HeapRequest) => {
  if (req.type === 'heap') {
    process.send?.({ id: req.id, ...measureLiveHeap() });
    return;
  }
  if (req.type !== 'publish') return;
  const subscribers = app.numSubscribers(TOPIC);
  let k = 0;
  let publishMs = 0;
  const step = () => {
    const started = performance.now();
    const body = JSON.stringify({ t: now(), g: req.tag, k });
    const frame = JSON.stringify({
      type: 'message',
      conversation_id: 'bare',
      message_id: String(++seq),
      seq,
      epoch: 'bare',
      sender_id: 'bare',
      client_msg_id: `${req.tag}-${k}`,
      body,
      created_at: Date.now(),
    } satisfies MessageFrame);
    app.publish(TOPIC, frame, false);
    publishMs += performance.now() - started;
    k++;
    if (k < req.count) {
      if (req.intervalMs) setTimeout(step, req.intervalMs);
      else setImmediate(step);
    } else process.send?.({ id: req.id, subscribers, publishMs });
  };
  step();
});

app.listen('127.0.0.1', port, (token) => {
  if (!token) {
    process.stderr.write(`bare-uws-server: cannot listen on ${port}\n`);
    process.exit(1);
  }
  process.stdout.write(`bare-uws-server listening on ${port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
process.on('disconnect', () => process.exit(0));
