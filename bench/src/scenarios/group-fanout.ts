import type { ChildProcess } from 'node:child_process';
import { LoadFleet } from '../load/fleet.js';
import type { ClientSpec } from '../load/protocol.js';
import { newHistogram, recordMs, summarize, type LatencySummary } from '../report/histogram.js';
import { ProcessGroup } from '../system/processes.js';
import { Rest } from '../system/rest.js';
import type { RunningSystem } from '../system/system-under-test.js';
import {
  collectStats,
  cpuFigures,
  cpuMeter,
  param,
  round,
  sleep,
  target,
  waitReceived,
  type Scenario,
  type ScenarioContext,
  startSystemFor,
} from './common.js';

interface SizeResult {
  members: number;
  rate: number;
  sent: number;
  acked: number;
  expectedDeliveries: number;
  deliveries: number;
  lastRecipient: LatencySummary;
  lastRecipientByMessage: number[];
  burst: { messages: number; deliveries: number; expected: number; deliveriesPerSec: number };
  cpu: Record<string, number | string>;
}

function lastRecipientLatency(perMessage: Map<string, [number, number, number, number]>, tag: string): LatencySummary {
  const h = newHistogram();
  for (const [k, v] of perMessage) if (k.startsWith(`${tag}:`)) recordMs(h, v[1]);
  return summarize(h);
}

/** Each message's last-recipient latency (ms), in send order: shows whether the tail is one message or all of them. */
function lastRecipientByMessage(perMessage: Map<string, [number, number, number, number]>, tag: string): number[] {
  const byIndex: [number, number][] = [];
  for (const [k, v] of perMessage) if (k.startsWith(`${tag}:`)) byIndex.push([Number(k.slice(tag.length + 1)), Math.round(v[1])]);
  return byIndex.sort((a, b) => a[0] - b[0]).map(([, ms]) => ms);
}

async function connectMembers(
  ctx: ScenarioContext,
  fleet: LoadFleet,
  workers: number,
  members: string[],
  urls: string[],
  conv: string,
  gateway: boolean,
): Promise<void> {
  const specs: ClientSpec[][] = Array.from({ length: workers }, () => []);
  members.forEach((m, i) => specs[i % workers]!.push({ userId: m, url: urls[i % urls.length]!, track: [conv] }));
  const res = await fleet.all<'connect'>((w) => ({
    type: 'connect',
    clients: specs[w]!,
    ratePerSec: 1500 / workers,
    maxInflight: 200,
    timeoutMs: 30_000,
    gateway,
  }));
  const failed = res.reduce((n, r) => n + (r?.failed ?? 0), 0);
  if (failed > 0) throw new Error(`group-fanout: ${failed} members failed to connect: ${JSON.stringify(res.map((r) => r?.failures))}`);
  ctx.log(`group-fanout: ${members.length} members online`);
}

/** One sender, groups of N online members: last-recipient latency and delivery rate vs bare uWS publish. */
export const groupFanout: Scenario = async (ctx) => {
  const sizes = ctx.scale === 'tiny' ? [param(ctx, 'members', 10, 10)] : [100, 1000, 10_000].filter((s) => s <= (ctx.overrides.maxMembers ?? 10_000));
  const gateways = param(ctx, 'gateways', 2, 4);
  const workers = param(ctx, 'workers', 2, 4);
  const durationMs = param(ctx, 'seconds', 3, 10) * 1000;
  const rateFor = (n: number) => ctx.overrides.rate ?? (ctx.scale === 'tiny' ? 5 : n >= 10_000 ? 2 : n >= 1000 ? 10 : 20);
  const burst = param(ctx, 'burst', 5, 20);
  const burstRate = param(ctx, 'burstRate', 100, 200);
  const warmup = param(ctx, 'warmup', 1, 1) > 0;
  const config = { sizes, gateways, workers, durationMs, rates: sizes.map(rateFor), burst, burstRate, warmup };
  ctx.log(`group-fanout: ${JSON.stringify(config)}`);

  let sys: RunningSystem | undefined;
  let fleet: LoadFleet | undefined;
  const bareProcs = new ProcessGroup(ctx.logDir, ctx.repoRoot);
  try {
    sys = await startSystemFor(ctx, gateways);
    const running = sys;
    const rest = new Rest(sys.chatUrl, sys.env);
    fleet = await LoadFleet.start(workers, sys.env);
    const meter = cpuMeter(() => running.procs.pids(), fleet);
    const results: SizeResult[] = [];

    for (const n of sizes) {
      const owner = `b${ctx.runId}-g${n}-owner`;
      const members = Array.from({ length: n }, (_, i) => `b${ctx.runId}-g${n}-m${i}`);
      const conv = await rest.createGroup(owner, `bench ${n}`, members);
      await connectMembers(ctx, fleet, workers, members, sys.gatewayUrls, conv, true);
      // The sender is an extra client of worker 0 (it does not track the conversation).
      const senderIndex = (await collectStats(fleet, false)).workers[0]!.openClients;
      await fleet.workers[0]!.request<'connect'>({
        type: 'connect',
        clients: [{ userId: owner, url: sys.gatewayUrls[0]! }],
        ratePerSec: 100,
        maxInflight: 1,
        timeoutMs: 10_000,
        gateway: true,
      });
      await sleep(500);
      // One message first, not measured, so the paced phase starts warm like the floor's (which
      // follows its burst): the first message of a new conversation has the sequencer load its member list.
      if (warmup) {
        const warm = await fleet.workers[0]!.request<'send'>({
          type: 'send',
          senders: [{ client: senderIndex, conversationId: conv }],
          ratePerSec: 1,
          durationMs: 1000,
          bodyBytes: 100,
          ackTimeoutMs: 15_000,
          tag: `w${n}`,
        });
        await waitReceived(fleet, warm.sent * n, 30_000);
      }
      await collectStats(fleet, true);

      const rate = rateFor(n);
      meter.begin();
      const tag = `g${n}`;
      const send = await fleet.workers[0]!.request<'send'>({
        type: 'send',
        senders: [{ client: senderIndex, conversationId: conv }],
        ratePerSec: rate,
        durationMs,
        bodyBytes: 100,
        ackTimeoutMs: 15_000,
        tag,
      });
      const expected = send.sent * n;
      await waitReceived(fleet, expected, 30_000);
      const cpu = meter.end();
      const stats = await collectStats(fleet, true, true);
      const lastRecipient = lastRecipientLatency(stats.perMessage, tag);

      // Burst: as fast as the pipeline goes; deliveries/s at the clients.
      const btag = `b${n}`;
      const bsend = await fleet.workers[0]!.request<'send'>({
        type: 'send',
        senders: [{ client: senderIndex, conversationId: conv }],
        ratePerSec: burstRate,
        durationMs: (burst * 1000) / burstRate,
        bodyBytes: 100,
        ackTimeoutMs: 15_000,
        tag: btag,
      });
      await waitReceived(fleet, bsend.sent * n, 30_000);
      const bstats = await collectStats(fleet, true);
      const burstSecs = Math.max(0.001, (bstats.lastReceiveAt - bsend.startedAt) / 1000);
      results.push({
        members: n,
        rate,
        sent: send.sent,
        acked: send.acked,
        expectedDeliveries: expected,
        deliveries: stats.received,
        lastRecipient,
        lastRecipientByMessage: lastRecipientByMessage(stats.perMessage, tag),
        burst: { messages: bsend.sent, deliveries: bstats.received, expected: bsend.sent * n, deliveriesPerSec: round(bstats.received / burstSecs, 0) },
        cpu: cpuFigures(cpu, stats.received, 'delivery'),
      });
      ctx.log(`group-fanout: ${n}: last-recipient ${JSON.stringify(lastRecipient)}, burst ${results.at(-1)!.burst.deliveriesPerSec}/s`);
      await fleet.all<'close'>(() => ({ type: 'close' }));
    }

    // Baseline: bare uWS publish to the largest group size, same clients, same run.
    const nMax = Math.max(...sizes);
    const barePort = ctx.basePort + 90;
    const bare: ChildProcess = bareProcs.start('bare-uws', 'bench/dist/baseline/bare-uws-server.js', { BARE_PORT: String(barePort) }, true);
    await bareProcs.waitForPort('bare-uws', barePort);
    await connectMembers(
      ctx,
      fleet,
      workers,
      Array.from({ length: nMax }, (_, i) => `bare-${i}`),
      [`ws://127.0.0.1:${barePort}/ws`],
      'bare',
      false,
    );
    await collectStats(fleet, true);
    const publish = (id: number, count: number, tag: string, intervalMs = 0) =>
      new Promise<{ subscribers: number; publishMs: number }>((resolve) => {
        bare.once('message', (m) => resolve(m as { subscribers: number; publishMs: number }));
        bare.send({ id, type: 'publish', count, tag, intervalMs });
      });
    const bareStart = performance.timeOrigin + performance.now();
    const pub = await publish(1, burst, 'bare');
    await waitReceived(fleet, burst * nMax, 30_000);
    const bstats = await collectStats(fleet, true);
    const bareRate = round(bstats.received / Math.max(0.001, (bstats.lastReceiveAt - bareStart) / 1000), 0);
    const barePublishRate = round((pub.subscribers * burst) / Math.max(0.001, pub.publishMs / 1000), 0);
    // The same messages at the same pace as the largest group's measured phase: the floor of its last-recipient latency.
    const largest = results.find((r) => r.members === nMax)!;
    await publish(2, largest.sent, 'barepaced', 1000 / largest.rate);
    await waitReceived(fleet, largest.sent * nMax, 30_000);
    const barePerMessage = (await collectStats(fleet, true, true)).perMessage;
    const bareLastRecipient = lastRecipientLatency(barePerMessage, 'barepaced');
    const latencyRatio = bareLastRecipient.p99 > 0 ? largest.lastRecipient.p99 / bareLastRecipient.p99 : Infinity;
    await fleet.all<'close'>(() => ({ type: 'close' }));
    await bareProcs.stop();

    const ratio = bareRate > 0 ? largest.burst.deliveriesPerSec / bareRate : 0;
    const metrics: Record<string, number | string> = {};
    for (const r of results) {
      metrics[`${r.members} members @${r.rate}/s: sent/acked`] = `${r.sent}/${r.acked}`;
      metrics[`${r.members}: deliveries / expected`] = `${r.deliveries}/${r.expectedDeliveries}`;
      metrics[`${r.members}: last-recipient p50/p99/max ms`] = `${r.lastRecipient.p50}/${r.lastRecipient.p99}/${r.lastRecipient.max}`;
      if (r.members === nMax) metrics[`${r.members}: last-recipient ms by message, in send order`] = r.lastRecipientByMessage.join(' ');
      metrics[`${r.members}: burst ${r.burst.messages} msgs deliveries/s`] = `${r.burst.deliveriesPerSec} (${r.burst.deliveries}/${r.burst.expected})`;
      for (const [k, v] of Object.entries(r.cpu)) metrics[`${r.members}: ${k}`] = v;
    }
    metrics[`bare uWS: ${burst} publishes to ${pub.subscribers} subscribers, deliveries/s at clients`] = `${bareRate} (${bstats.received}/${burst * nMax})`;
    metrics['bare uWS: server-side publish rate (deliveries/s)'] = barePublishRate;
    metrics[`gateway / bare uWS delivery rate (${nMax})`] = round(ratio, 2);
    metrics[`bare uWS: ${largest.sent} publishes @${largest.rate}/s to ${nMax}: last-recipient p50/p99/max ms`] =
      `${bareLastRecipient.p50}/${bareLastRecipient.p99}/${bareLastRecipient.max}`;
    metrics['bare uWS: last-recipient ms by message, in send order'] = lastRecipientByMessage(barePerMessage, 'barepaced').join(' ');
    metrics[`last-recipient p99, gateway / bare uWS (${nMax})`] = round(latencyRatio, 2);

    const targets = [
      ...results.map((r) =>
        target(
          `${r.members} members: zero loss`,
          `${r.expectedDeliveries + r.burst.expected}`,
          `${r.deliveries + r.burst.deliveries}`,
          r.deliveries >= r.expectedDeliveries && r.burst.deliveries >= r.burst.expected && r.sent > 0,
        ),
      ),
      target(
        `last-recipient p99 (${nMax} members)`,
        ctx.scale === 'full' && nMax >= 10_000 ? '≤ 250 ms' : '≤ 250 ms',
        `${largest.lastRecipient.p99} ms`,
        largest.lastRecipient.p99 <= 250,
      ),
      target(
        `last-recipient p99 vs bare uWS (${nMax} members)`,
        '≤ 1.5× bare',
        `×${round(latencyRatio, 2)} (${largest.lastRecipient.p99} vs ${bareLastRecipient.p99} ms)`,
        latencyRatio <= 1.5,
      ),
      target(
        `delivery rate vs bare uWS (${nMax} members)`,
        '≥ 70%',
        `${round(ratio * 100, 0)}% (${largest.burst.deliveriesPerSec} vs ${bareRate}/s)`,
        ratio >= 0.7,
      ),
    ];
    const notes = [
      'Last-recipient latency: for each message, the maximum over all members of (receive time − planned send time).',
      'Last-recipient floor: the bare uWS server publishes as many messages at the same pace as the largest group got, to the same number of clients of the same load workers; the ratio compares the p99s.',
      'Delivery rate: a burst of messages sent as fast as the pipeline takes them; deliveries counted at the clients from the first planned send to the last receive. The bare uWS figure is measured the same way with the same clients (publishes to one topic).',
      'Members are spread round-robin across gateway shards and load workers; the sender is a separate client on shard 1.',
    ];
    const charts = [
      {
        title: 'last-recipient latency by group size (ms)',
        xLabel: 'group size',
        yLabel: 'ms',
        kind: 'bar' as const,
        categories: results.map((r) => String(r.members)),
        series: [
          { name: 'p50', points: results.map((r, i) => [i, r.lastRecipient.p50] as [number, number]) },
          { name: 'p99', points: results.map((r, i) => [i, r.lastRecipient.p99] as [number, number]) },
        ],
      },
      {
        title: `deliveries/s to ${nMax} members: gateway vs bare uWS`,
        xLabel: '',
        yLabel: 'deliveries/s',
        kind: 'bar' as const,
        categories: ['gateway', 'bare uWS'],
        series: [
          {
            name: 'deliveries/s',
            points: [
              [0, largest.burst.deliveriesPerSec],
              [1, bareRate],
            ] as [number, number][],
          },
        ],
      },
    ];
    return { config, metrics, targets, charts, notes, details: { results, bare: { ...pub, bareRate, lastRecipient: bareLastRecipient } } };
  } finally {
    await fleet?.all<'close'>(() => ({ type: 'close' })).catch(() => undefined);
    await fleet?.stop();
    await bareProcs.stop();
    await sys?.procs.stop();
  }
};
