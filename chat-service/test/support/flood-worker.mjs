// A hostile client in its own thread (so its JSON work does not run on the test's event loop,
// which also runs chat-service): opens sockets as one user and, for a bounded time and frame
// count, writes send, ping and history frames as fast as the sockets take them, then reports
// what came back. Plain JavaScript: worker threads load files without the test's TS transform.
import { parentPort, workerData } from 'node:worker_threads';
import WebSocket from 'ws';

/** @type {{ urls: string[]; token: string; conversationId: string; durationMs: number; maxFramesPerSocket: number }} */
const { urls, token, conversationId, durationMs, maxFramesPerSocket } = workerData;
/** Client-side buffer per socket above which the loop waits (keeps the flood bounded in memory). */
const MAX_BUFFERED = 256 * 1024;
/** Sockets this worker closed itself (their close codes are not the server's verdict). */
const closedByUs = new WeakSet();
const closeOurs = (ws) => {
  closedByUs.add(ws);
  ws.close();
};

const stats = {
  sockets: urls.length,
  framesSent: 0,
  sendsSent: 0,
  replies: 0,
  acks: 0,
  pongs: 0,
  historyResults: 0,
  limitedSends: 0,
  limitedFrames: 0,
  limitedInflight: 0,
  retryAfterMin: Number.POSITIVE_INFINITY,
  retryAfterMax: 0,
  otherErrors: /** @type {Record<string, number>} */ ({}),
  closeCodes: /** @type {number[]} */ ([]),
  /** Own messages delivered back to the flooder's sockets (a sender's devices receive its messages). */
  ownMessages: 0,
  /** ms from the start until the last frame was written, and until the last reply arrived. */
  writingMs: 0,
  answeredMs: 0,
  /** Sockets opened again after the server closed one. */
  reconnects: 0,
  /** Refused reconnects by HTTP status. */
  refusedUpgrades: /** @type {Record<string, number>} */ ({}),
};

function onReply(text) {
  const f = JSON.parse(text);
  if (f.type === 'hello') return;
  if (f.type === 'message') {
    stats.ownMessages++;
    return;
  }
  stats.replies++;
  if (f.type === 'ack') stats.acks++;
  else if (f.type === 'pong') stats.pongs++;
  else if (f.type === 'history.result') stats.historyResults++;
  else if (f.type === 'error' && f.code === 4100) {
    if (/messages sent by this user/.test(f.message)) stats.limitedSends++;
    else if (/frames on this connection/.test(f.message)) stats.limitedFrames++;
    else if (/in flight/.test(f.message)) stats.limitedInflight++;
    else stats.otherErrors[`4100 ${f.message}`] = (stats.otherErrors[`4100 ${f.message}`] ?? 0) + 1;
    if (typeof f.retry_after_ms === 'number') {
      stats.retryAfterMin = Math.min(stats.retryAfterMin, f.retry_after_ms);
      stats.retryAfterMax = Math.max(stats.retryAfterMax, f.retry_after_ms);
    }
  } else {
    const key = f.type === 'error' ? String(f.code) : f.type;
    stats.otherErrors[key] = (stats.otherErrors[key] ?? 0) + 1;
  }
}

/** Opens a socket; resolves with it once `hello` arrived, or with the HTTP status of a refused upgrade. */
function open(url) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers: { authorization: `Bearer ${token}` } });
    let opened = false;
    ws.on('message', (data) => onReply(String(data)));
    ws.on('close', (code) => {
      if (opened && !closedByUs.has(ws)) stats.closeCodes.push(code);
    });
    ws.once('unexpected-response', (_req, res) => {
      res.resume();
      ws.terminate();
      resolve(res.statusCode ?? 0);
    });
    ws.once('error', reject);
    ws.once('message', () => {
      opened = true; // hello
      resolve(ws);
    });
  });
}

/** Floods one socket until it closes, the time is up or it wrote maxFramesPerSocket frames. */
function flood(ws, s, end) {
  return new Promise((resolve) => {
    let n = 0;
    const tick = () => {
      if (Date.now() >= end || n >= maxFramesPerSocket || ws.readyState !== WebSocket.OPEN) return resolve();
      for (let batch = 0; batch < 100 && ws.bufferedAmount < MAX_BUFFERED && n < maxFramesPerSocket; batch++, n++) {
        const kind = n % 4;
        const ref = `f${s}-${n}`;
        if (kind === 0 || kind === 1) {
          ws.send(JSON.stringify({ type: 'send', ref, conversation_id: conversationId, client_msg_id: `flood-${s}-${n}`, body: 'flood' }));
          stats.sendsSent++;
        } else if (kind === 2) ws.send(JSON.stringify({ type: 'ping', ref }));
        else ws.send(JSON.stringify({ type: 'history', ref, conversation_id: conversationId, limit: 50 }));
        stats.framesSent++;
      }
      setImmediate(tick);
    };
    tick();
  });
}

const first = await Promise.all(urls.map(open));
parentPort.postMessage({ type: 'ready' });
await new Promise((resolve) => parentPort.once('message', resolve)); // go

const start = Date.now();
const end = start + durationMs;
const all = [...first];
// Each slot floods its socket and, when the server closes it, reconnects and floods again (an
// attacker that ignores every signal), until the time is up.
await Promise.all(
  urls.map(async (url, slot) => {
    let ws = first[slot];
    for (let round = 0; Date.now() < end; round++) {
      if (typeof ws === 'number') {
        stats.refusedUpgrades[ws] = (stats.refusedUpgrades[ws] ?? 0) + 1;
        await new Promise((r) => setTimeout(r, 10));
      } else {
        await flood(ws, `${slot}.${round}`, end);
        if (Date.now() >= end) break;
        // Wrote its maximum or was closed: wait for the close (the server's, or ours at the end).
        const socket = ws;
        await new Promise((r) => {
          if (socket.readyState === WebSocket.CLOSED) return r();
          const timer = setTimeout(() => (closeOurs(socket), r()), Math.max(0, end - Date.now()));
          socket.once('close', () => (clearTimeout(timer), r()));
        });
        if (Date.now() >= end) break;
      }
      ws = await open(url).catch(() => 0);
      if (typeof ws !== 'number') {
        stats.reconnects++;
        all.push(ws);
      }
    }
    if (typeof ws !== 'number') closeOurs(ws);
  }),
);
stats.writingMs = Date.now() - start;
// Replies still owed to open sockets (bounded wait), then report.
const settleBy = Date.now() + 20_000;
while (all.some((ws) => ws.readyState !== WebSocket.CLOSED) && Date.now() < settleBy) await new Promise((r) => setTimeout(r, 5));
stats.answeredMs = Date.now() - start;
for (const ws of all) {
  closedByUs.add(ws);
  ws.terminate();
}
parentPort.postMessage({ type: 'stats', stats: { ...stats, retryAfterMin: Number.isFinite(stats.retryAfterMin) ? stats.retryAfterMin : 0 } });
