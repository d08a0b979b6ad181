import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloseCodes, Errors, type ServerFrame } from '@chat/protocol';
import { RawClient } from './support/raw-client.js';
import { startSystem, waitFor, type TestSystem } from './support/system.js';

// One user floods a gateway with sends, pings and history requests from three sockets, reconnecting
// whenever a socket is closed, while other users chat through the same gateway (and the other one).
// The flooder must get 4100 rate_limited, then 4502 closes and 429 for its reconnects, and the
// others' send → delivery latency must stay bounded. Limits are the production defaults (RATE_SENDS_PER_USER 500/10s,
// RATE_FRAMES_PER_CONNECTION 600/10s). Before 4502 existed, refused frames cost the gateway a
// decode, a parse and a reply each, and this flood pushed the others' p99 from 0.3 s to 2.6 s and
// from 0.8 s to 3.8 s (two runs); with 4502 but free reconnects, from 0.5 s to 2.2 s.
const BASELINE_MS = 3000;
const FLOOD_MS = 8000;
const CHAT_INTERVAL_MS = 100;
const PAIRS = 4;
const FLOOD_SOCKETS = 3;
const MAX_FLOOD_FRAMES_PER_SOCKET = 40_000;
/**
 * The bound on the others' p95 during the flood: generous (a shared 2-core machine also runs Kafka
 * and Cassandra), and relative to the baseline measured just before, since other load on the
 * machine moves both. The p95, not the p99: the four senders send in lockstep, so the p99 of ~300
 * samples is the single worst instant, one stall of the shared machine (a fresh-clone run once
 * measured 2.6 s there). With 4502 closes turned off, the others' p99 now stays near 1 s (refused
 * frames are cheap) and the close assertions are what fail; this bound guards against starvation.
 */
const p95Bound = (baselineP95: number): number => Math.max(1500, 2 * baselineP95 + 500);

let sys: TestSystem;
const clients: RawClient[] = [];
const uid = (name: string) => `fl-${name}-${Math.random().toString(36).slice(2, 8)}`;

async function connect(userId: string, gateway: number): Promise<RawClient> {
  const c = await RawClient.connect(sys.gateways[gateway]!.url, sys.token(userId));
  clients.push(c);
  return c;
}

async function direct(a: string, b: string): Promise<string> {
  const res = await sys.rest<{ conversation: { conversation_id: string } }>(a, 'POST', '/v1/conversations', { kind: 'direct', user_id: b });
  expect(res.status).toBeLessThan(300);
  return res.body.conversation.conversation_id;
}

interface FloodStats {
  sockets: number;
  framesSent: number;
  sendsSent: number;
  replies: number;
  acks: number;
  pongs: number;
  historyResults: number;
  limitedSends: number;
  limitedFrames: number;
  limitedInflight: number;
  retryAfterMin: number;
  retryAfterMax: number;
  otherErrors: Record<string, number>;
  closeCodes: number[];
  ownMessages: number;
  writingMs: number;
  answeredMs: number;
  reconnects: number;
  refusedUpgrades: Record<string, number>;
}

/** Starts the flood worker; resolves once its sockets are open, with a function that starts the flood and resolves with its stats. */
async function floodWorker(urls: string[], token: string, conversationId: string): Promise<() => Promise<FloodStats>> {
  const worker = new Worker(new URL('./support/flood-worker.mjs', import.meta.url), {
    workerData: { urls, token, conversationId, durationMs: FLOOD_MS, maxFramesPerSocket: MAX_FLOOD_FRAMES_PER_SOCKET },
  });
  const messages: { type: string; stats?: FloodStats }[] = [];
  const failed = new Promise<never>((_, reject) => worker.once('error', reject));
  worker.on('message', (m: { type: string; stats?: FloodStats }) => messages.push(m));
  await Promise.race([waitFor(() => messages.some((m) => m.type === 'ready'), 15_000, 'flood sockets'), failed]);
  return async () => {
    worker.postMessage('go');
    await Promise.race([waitFor(() => messages.some((m) => m.type === 'stats'), FLOOD_MS + 40_000, 'flood stats'), failed]);
    await worker.terminate();
    return messages.find((m) => m.type === 'stats')!.stats!;
  };
}

interface Chat {
  sentAt: Map<string, number>;
  deliveredAt: Map<string, number>;
  failures: ServerFrame[];
}

/** The pairs chat: each sender sends one message every CHAT_INTERVAL_MS for `ms`, timestamps at send and at the receiver's socket. */
async function chatFor(ms: number, pairs: { sender: RawClient; receiver: RawClient; conv: string }[], phase: string, chat: Chat): Promise<string[]> {
  const ids: string[] = [];
  const end = performance.now() + ms;
  let n = 0;
  const pending: Promise<void>[] = [];
  while (performance.now() < end) {
    for (const [p, { sender, conv }] of pairs.entries()) {
      const id = `${phase}-${p}-${n}`;
      ids.push(id);
      chat.sentAt.set(id, performance.now());
      pending.push(
        sender.request({ type: 'send', conversation_id: conv, client_msg_id: id, body: `hello ${id}` }, 30_000).then((reply) => {
          if (reply.type !== 'ack') chat.failures.push(reply);
        }),
      );
    }
    n++;
    await new Promise((r) => setTimeout(r, CHAT_INTERVAL_MS));
  }
  await Promise.all(pending);
  return ids;
}

function percentiles(values: number[]): { n: number; p50: number; p95: number; p99: number; max: number } {
  const s = [...values].sort((a, b) => a - b);
  const at = (q: number): number => s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)] ?? Number.NaN;
  return { n: s.length, p50: at(0.5), p95: at(0.95), p99: at(0.99), max: s[s.length - 1] ?? Number.NaN };
}

const fmt = (p: ReturnType<typeof percentiles>): string =>
  `n=${p.n} p50=${p.p50.toFixed(0)} ms p95=${p.p95.toFixed(0)} ms p99=${p.p99.toFixed(0)} ms max=${p.max.toFixed(0)} ms`;

beforeAll(async () => {
  sys = await startSystem(2);
}, 180_000);

afterAll(async () => {
  for (const c of clients) c.close();
  await sys?.close();
});

describe('hostile input: a flood from one user', () => {
  it("a user flooding sends, pings and history from 3 sockets (reconnecting when closed) gets 4100 rate_limited with retry_after_ms and, ignoring it, a 4502 close and 429 for its reconnects, while other users' send → delivery p95 on the same gateway stays bounded", async () => {
    const flooder = uid('flooder');
    const floodConv = await direct(flooder, uid('victim')); // the victim stays offline: the flood's cost is the flooder's
    const pairs: { sender: RawClient; receiver: RawClient; conv: string }[] = [];
    const chat: Chat = { sentAt: new Map(), deliveredAt: new Map(), failures: [] };
    for (let p = 0; p < PAIRS; p++) {
      const [a, b] = [uid(`a${p}`), uid(`b${p}`)];
      const conv = await direct(a, b);
      // Senders on the flooded gateway; half the receivers there too, half on the other gateway.
      const sender = await connect(a, 0);
      const receiver = await connect(b, p % 2);
      receiver.ws.on('message', (data) => {
        const f = JSON.parse(String(data)) as ServerFrame;
        if (f.type === 'message' && f.conversation_id === conv && !chat.deliveredAt.has(f.client_msg_id))
          chat.deliveredAt.set(f.client_msg_id, performance.now());
      });
      pairs.push({ sender, receiver, conv });
    }
    const latencies = (ids: string[]): number[] => ids.map((id) => chat.deliveredAt.get(id)! - chat.sentAt.get(id)!);

    const baselineIds = await chatFor(BASELINE_MS, pairs, 'base', chat);
    await waitFor(() => baselineIds.every((id) => chat.deliveredAt.has(id)), 20_000, 'baseline deliveries');

    const startFlood = await floodWorker(
      Array.from({ length: FLOOD_SOCKETS }, () => sys.gateways[0]!.url),
      sys.token(flooder),
      floodConv,
    );
    const floodStart = performance.now();
    const floodDone = startFlood();
    const floodIds = await chatFor(FLOOD_MS, pairs, 'flood', chat);
    const flood = await floodDone;
    await waitFor(() => floodIds.every((id) => chat.deliveredAt.has(id)), 30_000, 'deliveries during the flood');

    const base = percentiles(latencies(baselineIds));
    const during = percentiles(latencies(floodIds));
    console.log(
      `flood: ${flood.framesSent} frames (${flood.sendsSent} sends) from ${flood.sockets} sockets in ${FLOOD_MS / 1000} s; ` +
        `4100: ${flood.limitedSends} sends, ${flood.limitedFrames} frames, ${flood.limitedInflight} in flight; retry_after_ms ${flood.retryAfterMin}–${flood.retryAfterMax}; ` +
        `flooder acks ${flood.acks}, pongs ${flood.pongs}, history ${flood.historyResults}, other ${JSON.stringify(flood.otherErrors)}; ` +
        `closed ${flood.closeCodes.length} times, reconnected ${flood.reconnects} times, refused upgrades ${JSON.stringify(flood.refusedUpgrades)}`,
    );
    console.log(`flood: others' send → delivery before the flood: ${fmt(base)}; during it: ${fmt(during)} (p95 bound ${p95Bound(base.p95).toFixed(0)} ms)`);
    console.log(
      `flood: frames written in ${flood.writingMs} ms, all answered after ${flood.answeredMs} ms; slowest deliveries (sent at +ms: latency): ${floodIds
        .map((id) => [chat.sentAt.get(id)! - floodStart, chat.deliveredAt.get(id)! - chat.sentAt.get(id)!] as const)
        .sort((a, b) => b[1] - a[1])
        .slice(0, 8)
        .map(([at, ms]) => `+${at.toFixed(0)}: ${ms.toFixed(0)}`)
        .join(', ')}`,
    );

    // The flooder: refused with 4100 and a retry hint, its accepted sends within the limit; a socket
    // that keeps sending through a window's worth of 4100 replies is closed with 4502.
    expect(flood.limitedSends).toBeGreaterThan(0);
    expect(flood.limitedFrames).toBeGreaterThan(0);
    expect(flood.retryAfterMin).toBeGreaterThan(0);
    expect(flood.retryAfterMax).toBeLessThanOrEqual(10_000);
    expect(flood.acks).toBeLessThanOrEqual(500);
    expect(flood.closeCodes.length).toBeGreaterThanOrEqual(FLOOD_SOCKETS);
    expect(new Set(flood.closeCodes)).toEqual(new Set([CloseCodes.RATE_LIMIT_IGNORED.code]));
    // Reconnecting buys no fresh budget: the user's upgrades are refused with 429 until the flooded
    // window ends, so within one 10 s window each of its sockets costs at most twice the frame limit.
    expect(flood.refusedUpgrades['429']).toBeGreaterThan(0);
    expect(flood.reconnects).toBe(0);
    expect(flood.replies).toBeLessThanOrEqual(FLOOD_SOCKETS * 2 * 600);
    expect(Object.keys(flood.otherErrors)).toEqual([]);
    // The others: every send acked (never rate limited), every message delivered once, in bounded time.
    expect(chat.failures.map((f) => (f.type === 'error' ? f.code : f.type))).toEqual([]);
    for (const { receiver, conv } of pairs) {
      const ids = receiver.messages(conv).map((m) => m.client_msg_id);
      expect(new Set(ids).size).toBe(ids.length);
    }
    expect(during.n).toBe(floodIds.length);
    expect(during.p95).toBeLessThan(p95Bound(base.p95));
    expect(Errors.RATE_LIMITED.retry).toBe(true);
  });
});
