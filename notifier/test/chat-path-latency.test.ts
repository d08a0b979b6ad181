import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { percentile } from '@chat/testing/percentile';
import { fileURLToPath } from 'node:url';
import { RawClient } from '@chat/chat-service/testing/raw-client';
import { metricValue, startNotifierProcess, startNotifierSystem, waitFor, type NotifierProcess, type NotifierSystem } from './support/notifier-system.js';

// The chat path never waits for the notifier: direct-message send→deliver latency through two
// gateways, measured in one run while FCM is healthy, while it answers 500/503, and while it hangs
// (the fake FCM endpoint in its own process, as FCM is remote).
// Every receiver is online, has push devices and never reads, so each message also becomes a
// push after the grace period: the notifier (a real process) works on the same messages.
const PAIRS = 20;
const PER_PHASE = 300;
const RATE_PER_S = 50;
const GRACE_MS = 5000;
/** Push devices per receiver: each push is this many FCM requests. */
const DEVICES = 5;

const uid = (name: string) => `${name}-${randomBytes(3).toString('hex')}`;
let ns: NotifierSystem;
let notifier: NotifierProcess;
let fcm: ChildProcess;
const clients: RawClient[] = [];

type FcmMode = 'healthy' | '5xx' | 'hang';
/** Asks the fake FCM process for its counters. */
const fcmStats = () =>
  new Promise<{ requests: number; failures: number }>((resolve) => {
    fcm.once('message', (m: { requests: number; failures: number }) => resolve(m));
    fcm.send({ type: 'stats' });
  });

beforeAll(async () => {
  fcm = fork(fileURLToPath(new URL('./support/fake-fcm-process.mjs', import.meta.url)), { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const endpoint = await new Promise<{ host: string; port: number }>((resolve, reject) => {
    fcm.once('message', (m: { host: string; port: number }) => resolve(m));
    fcm.once('exit', (code) => reject(new Error(`fake FCM process exited with ${code}`)));
  });
  ns = await startNotifierSystem({
    gateways: 2,
    notifierEnv: {
      FCM_LOCAL_ENDPOINT: `${endpoint.host}:${endpoint.port}`,
      NOTIFY_COLLAPSE_WINDOW_MS: '500',
      NOTIFY_ONLINE_GRACE_MS: String(GRACE_MS),
      FCM_MAX_ATTEMPTS: '6',
      FCM_RETRY_BASE_MS: '100',
      FCM_RETRY_MAX_MS: '1000',
    },
  });
  notifier = await startNotifierProcess(ns);
}, 180_000);

afterAll(async () => {
  for (const c of clients) c.close();
  // Requests held by the hanging endpoint would hold a graceful stop for firebase-admin's timeouts.
  await notifier?.stop('SIGKILL');
  fcm?.kill('SIGKILL');
  await ns?.close();
});

interface Pair {
  sender: RawClient;
  receiver: RawClient;
  conversation: string;
}

async function pair(i: number): Promise<Pair> {
  const [a, b] = [uid(`a${i}`), uid(`b${i}`)];
  const res = await ns.sys.rest<{ conversation: { conversation_id: string } }>(a, 'POST', '/v1/conversations', { kind: 'direct', user_id: b });
  for (let d = 0; d < DEVICES; d++) await ns.device(b);
  const [gwA, gwB] = [ns.sys.gateways[0]!, ns.sys.gateways[1]!];
  const sender = await RawClient.connect(gwA.url, ns.sys.token(a));
  const receiver = await RawClient.connect(gwB.url, ns.sys.token(b));
  clients.push(sender, receiver);
  return { sender, receiver, conversation: res.body.conversation.conversation_id };
}

/**
 * Sends `count` messages round-robin over the pairs at RATE_PER_S (open loop) and resolves with each
 * one's send→deliver ms. A send refused as temporary (4100/4101 on an overloaded machine) is sent
 * again with the same client_msg_id, as the SDK does, and timed from its first send.
 */
async function measure(pairs: Pair[], phase: string, count: number): Promise<{ latencies: number[]; resent: number }> {
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  let resent = 0;
  const refused: string[] = [];
  const frames = (p: Pair, id: string) =>
    JSON.stringify({ type: 'send', ref: `${id}#${Date.now()}`, conversation_id: p.conversation, client_msg_id: id, body: `m ${id}` });
  const listeners = pairs.map((p) => {
    const onDelivered = (data: Buffer) => {
      const f = JSON.parse(data.toString()) as { type: string; client_msg_id?: string };
      const at = f.type === 'message' && f.client_msg_id ? sentAt.get(f.client_msg_id) : undefined;
      if (at !== undefined) {
        latencies.push(Date.now() - at);
        sentAt.delete(f.client_msg_id!);
      }
    };
    const onReply = (data: Buffer) => {
      const f = JSON.parse(data.toString()) as { type: string; ref?: string; retry?: boolean };
      if (f.type !== 'error' || !f.ref?.startsWith(`${phase}-`)) return;
      if (!f.retry) return void refused.push(data.toString());
      resent++;
      const id = f.ref.slice(0, f.ref.indexOf('#'));
      setTimeout(() => p.sender.sendRaw(frames(p, id)), 200);
    };
    p.receiver.ws.on('message', onDelivered);
    p.sender.ws.on('message', onReply);
    return () => {
      p.receiver.ws.off('message', onDelivered);
      p.sender.ws.off('message', onReply);
    };
  });
  const start = Date.now();
  for (let k = 0; k < count; k++) {
    const due = start + (k * 1000) / RATE_PER_S;
    if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
    const p = pairs[k % pairs.length]!;
    const id = `${phase}-${k}`;
    sentAt.set(id, Date.now());
    p.sender.sendRaw(frames(p, id));
  }
  await waitFor(
    () => {
      if (refused.length > 0) throw new Error(`sends refused for good: ${refused.join(', ')}`);
      return latencies.length === count;
    },
    120_000,
    `every ${phase} message delivered`,
  );
  for (const off of listeners) off();
  return { latencies, resent };
}

const metrics = async () => await (await fetch(`${notifier.internalUrl}/metrics`)).text();

describe('chat path while FCM fails', () => {
  it('direct-message send→deliver latency stays within noise of the healthy case while FCM answers 5xx or hangs', async () => {
    const pairs = await Promise.all(Array.from({ length: PAIRS }, (_, i) => pair(i)));
    // Pushes trail their messages by the grace period: a first unmeasured phase makes the healthy
    // phase run with pushes flowing, as the failing phases do.
    fcm.send({ type: 'mode', mode: 'healthy' });
    await measure(pairs, 'warmup', PER_PHASE / 2);
    const phases: { name: string; mode: FcmMode }[] = [
      { name: 'healthy', mode: 'healthy' },
      { name: 'fcm-5xx', mode: '5xx' },
      { name: 'fcm-hang', mode: 'hang' },
    ];
    const figures: Record<string, { p50: number; p99: number; resent: number; fcmRequests: number; fcmFailures: number }> = {};
    for (const phase of phases) {
      fcm.send({ type: 'mode', mode: phase.mode });
      const before = await fcmStats();
      const { latencies, resent } = await measure(pairs, phase.name, PER_PHASE);
      // The notifier worked on these messages during the phase: FCM got its requests (and refused or held them).
      const after = await fcmStats();
      figures[phase.name] = {
        p50: percentile(latencies, 50),
        p99: percentile(latencies, 99),
        resent,
        fcmRequests: after.requests - before.requests,
        fcmFailures: after.failures - before.failures,
      };
    }
    console.log(`chat path send→deliver (ms, ${PER_PHASE} direct messages per phase at ${RATE_PER_S}/s over ${PAIRS} pairs, two gateways):`);
    for (const [name, f] of Object.entries(figures))
      console.log(
        `  ${name.padEnd(8)} p50 ${f.p50}  p99 ${f.p99}  (sends refused and resent ${f.resent}; FCM requests ${f.fcmRequests}, refused or held ${f.fcmFailures})`,
      );
    const text = await metrics();
    console.log(
      `  notifier: sent ${metricValue(text, 'chat_notifier_pushes_sent_total')}, failed attempts ${metricValue(text, 'chat_notifier_push_failures_total')}, retry queue ${metricValue(text, 'chat_notifier_retry_queue_depth')}`,
    );

    const healthy = figures.healthy!;
    expect(healthy.fcmRequests).toBeGreaterThan(0);
    // Generous bounds for a shared 2-core machine. A chat path that waited for the push would add
    // at least the grace period to every message, so its p50 would be past GRACE_MS: the p50
    // bound must stay below that, or this run could not tell the two apart.
    const p50Bound = 2 * healthy.p50 + 250;
    expect(p50Bound).toBeLessThan(GRACE_MS);
    for (const name of ['fcm-5xx', 'fcm-hang']) {
      const f = figures[name]!;
      expect(f.fcmFailures).toBeGreaterThan(0);
      expect(f.p50).toBeLessThanOrEqual(p50Bound);
      expect(f.p99).toBeLessThanOrEqual(3 * healthy.p99 + 1000);
    }
  });
});
