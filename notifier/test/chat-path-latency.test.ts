import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { percentile } from '@chat/testing/percentile';
import { RawClient } from '../../chat-service/test/support/raw-client.js';
import { fcmError, HANG, type FakeAnswer } from '../src/dev/fake-fcm.js';
import { metricValue, startNotifierProcess, startNotifierSystem, waitFor, type NotifierProcess, type NotifierSystem } from './support/notifier-system.js';

// The chat path never waits for the notifier: direct-message send→deliver latency through two
// gateways, measured in one run while FCM is healthy, while it answers 500/503, and while it hangs.
// Every receiver is online, has push devices and never reads, so each message also becomes a
// push after the grace period: the notifier (a real process) works on the same messages.
const PAIRS = 20;
const PER_PHASE = 300;
const RATE_PER_S = 50;
const GRACE_MS = 3000;
/** Push devices per receiver: each push is this many FCM requests. */
const DEVICES = 5;

const uid = (name: string) => `${name}-${randomBytes(3).toString('hex')}`;
let ns: NotifierSystem;
let notifier: NotifierProcess;
const clients: RawClient[] = [];

beforeAll(async () => {
  ns = await startNotifierSystem({
    gateways: 2,
    notifierEnv: { NOTIFY_COLLAPSE_WINDOW_MS: '500', NOTIFY_ONLINE_GRACE_MS: String(GRACE_MS), FCM_MAX_ATTEMPTS: '6', FCM_RETRY_BASE_MS: '100', FCM_RETRY_MAX_MS: '1000' },
  });
  notifier = await startNotifierProcess(ns);
}, 180_000);

afterAll(async () => {
  for (const c of clients) c.close();
  // Requests held by the hanging endpoint would hold a graceful stop for firebase-admin's timeouts.
  await notifier?.stop('SIGKILL');
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

/** Sends `count` messages round-robin over the pairs at RATE_PER_S (open loop); resolves with each one's send→deliver ms. */
async function measure(pairs: Pair[], phase: string, count: number): Promise<number[]> {
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  const onMessage = (data: Buffer) => {
    const f = JSON.parse(data.toString()) as { type: string; client_msg_id?: string };
    const at = f.type === 'message' && f.client_msg_id ? sentAt.get(f.client_msg_id) : undefined;
    if (at !== undefined) latencies.push(Date.now() - at);
  };
  for (const p of pairs) p.receiver.ws.on('message', onMessage);
  const start = Date.now();
  for (let k = 0; k < count; k++) {
    const due = start + (k * 1000) / RATE_PER_S;
    if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
    const p = pairs[k % pairs.length]!;
    const id = `${phase}-${k}`;
    sentAt.set(id, Date.now());
    p.sender.sendRaw(JSON.stringify({ type: 'send', ref: id, conversation_id: p.conversation, client_msg_id: id, body: `m ${k}` }));
  }
  await waitFor(() => latencies.length === count, 60_000, `every ${phase} message delivered`);
  for (const p of pairs) p.receiver.ws.off('message', onMessage);
  return latencies;
}

const metrics = async () => (await (await fetch(`${notifier.internalUrl}/metrics`)).text());

describe('chat path while FCM fails', () => {
  it('direct-message send→deliver latency stays within noise of the healthy case while FCM answers 5xx or hangs', async () => {
    const pairs = await Promise.all(Array.from({ length: PAIRS }, (_, i) => pair(i)));
    const phases: { name: string; answer: () => FakeAnswer | undefined }[] = [
      { name: 'healthy', answer: () => undefined },
      { name: 'fcm-5xx', answer: () => (Math.random() < 0.5 ? fcmError(500, 'INTERNAL') : fcmError(503, 'UNAVAILABLE')) },
      { name: 'fcm-hang', answer: () => HANG },
    ];
    const figures: Record<string, { p50: number; p99: number; fcmRequests: number; fcmFailures: number }> = {};
    for (const phase of phases) {
      ns.fake.answer = phase.answer;
      const before = ns.fake.pushes.length;
      const latencies = await measure(pairs, phase.name, PER_PHASE);
      // The notifier worked on these messages during the phase: FCM got its requests (and refused or held them).
      const requests = ns.fake.pushes.slice(before);
      figures[phase.name] = { p50: percentile(latencies, 50), p99: percentile(latencies, 99), fcmRequests: requests.length, fcmFailures: requests.filter((r) => r.status !== 200).length };
    }
    console.log(`chat path send→deliver (ms, ${PER_PHASE} direct messages per phase at ${RATE_PER_S}/s over ${PAIRS} pairs, two gateways):`);
    for (const [name, f] of Object.entries(figures)) console.log(`  ${name.padEnd(8)} p50 ${f.p50}  p99 ${f.p99}  (FCM requests ${f.fcmRequests}, refused or held ${f.fcmFailures})`);
    const text = await metrics();
    console.log(`  notifier: sent ${metricValue(text, 'chat_notifier_pushes_sent_total')}, failed attempts ${metricValue(text, 'chat_notifier_push_failures_total')}, retry queue ${metricValue(text, 'chat_notifier_retry_queue_depth')}`);

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
