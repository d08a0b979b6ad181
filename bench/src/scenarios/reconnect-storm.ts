import { LoadFleet } from '../load/fleet.js';
import type { ClientSpec, StormReply } from '../load/protocol.js';
import { mergeEncoded, summarize } from '../report/histogram.js';
import { Rest, mapLimit } from '../system/rest.js';
import { sampleProc } from '../system/proc-stats.js';
import type { RunningSystem } from '../system/system-under-test.js';
import { collectStats, param, round, sleep, sumTimelines, target, type Scenario, startSystemFor } from './common.js';

const MiB = 2 ** 20;

/** N clients tracking conversations drop at once and resume with `sync` while messages keep flowing. */
export const reconnectStorm: Scenario = async (ctx) => {
  const clients = param(ctx, 'clients', 20, 10_000);
  const groupSize = param(ctx, 'groupSize', 10, 100);
  const gateways = param(ctx, 'gateways', 2, 4);
  const workers = param(ctx, 'workers', 2, 4);
  const rate = param(ctx, 'rate', 10, 50);
  const stormAfterMs = param(ctx, 'stormAfterSeconds', 1, 5) * 1000;
  const sendMs = param(ctx, 'sendSeconds', 4, 25) * 1000;
  const reconnectRate = param(ctx, 'reconnectRate', 500, 2000);
  const budget = {
    gatewayMiB: param(ctx, 'gatewayBudgetMiB', 512, 512),
    chatServiceMiB: param(ctx, 'chatServiceBudgetMiB', 1024, 1024),
    workerMiB: param(ctx, 'workerBudgetMiB', 1536, 1536),
  };
  const groups = Math.ceil(clients / groupSize);
  const config = { clients, groupSize, groups, gateways, workers, rate, stormAfterMs, sendMs, reconnectRate, budget };
  ctx.log(`reconnect-storm: ${JSON.stringify(config)}`);

  let sys: RunningSystem | undefined;
  let fleet: LoadFleet | undefined;
  try {
    sys = await startSystemFor(ctx, gateways);
    const running = sys;
    const rest = new Rest(sys.chatUrl, sys.env);
    const owners = Array.from({ length: groups }, (_, g) => `b${ctx.runId}-o${g}`);
    const memberOf = (g: number) => Array.from({ length: Math.min(groupSize, clients - g * groupSize) }, (_, i) => `b${ctx.runId}-m${g * groupSize + i}`);
    const convs = await mapLimit(owners, 8, (o, g) => rest.createGroup(o, `storm ${g}`, memberOf(g)));
    fleet = await LoadFleet.start(workers, sys.env);

    // Receivers round-robin over workers and shards; the senders (owners) are extra clients of worker 0, never dropped.
    const specs: ClientSpec[][] = Array.from({ length: workers }, () => []);
    let k = 0;
    convs.forEach((conv, g) => {
      for (const m of memberOf(g)) {
        specs[k % workers]!.push({ userId: m, url: running.gatewayUrls[k % gateways]!, track: [conv] });
        k++;
      }
    });
    const receiverIdx = specs.map((s) => s.map((_, i) => i));
    const senderBase = specs[0]!.length;
    specs[0]!.push(...owners.map((o, g): ClientSpec => ({ userId: o, url: running.gatewayUrls[g % gateways]! })));
    const conn = await fleet.all<'connect'>((w) => ({
      type: 'connect',
      clients: specs[w]!,
      ratePerSec: 2000 / workers,
      maxInflight: 200,
      timeoutMs: 30_000,
      gateway: true,
    }));
    const failed = conn.reduce((n, c) => n + (c?.failed ?? 0), 0);
    if (failed > 0) throw new Error(`reconnect-storm: ${failed} clients failed to connect: ${JSON.stringify(conn.map((c) => c?.failures))}`);
    await collectStats(fleet, true);
    ctx.log(`reconnect-storm: ${clients} receivers online; sending ${rate} msg/s; storm after ${stormAfterMs} ms`);

    const sending = fleet.workers[0]!.request<'send'>({
      type: 'send',
      senders: convs.map((c, g) => ({ client: senderBase + g, conversationId: c })),
      ratePerSec: rate,
      durationMs: sendMs,
      bodyBytes: 100,
      ackTimeoutMs: 15_000,
      tag: 'storm',
    });
    await sleep(stormAfterMs);
    const storms = (
      await fleet.all<'storm'>((w) => ({ type: 'storm', clients: receiverIdx[w]!, ratePerSec: reconnectRate / workers, maxInflight: 500, timeoutMs: 60_000 }))
    ).filter((s): s is StormReply => s !== undefined);
    const send = await sending;
    await sleep(2000);
    const lastSeqs = await mapLimit(owners, 8, async (o, g) => (await rest.lastSeqs(o)).get(convs[g]!) ?? 0);
    const finalSeq = Object.fromEntries(convs.map((c, g) => [c, lastSeqs[g]!]));
    // Wait (bounded) for live deliveries of the last messages, then check every client for gaps.
    let gaps = await fleet.all<'expectation'>(() => ({ type: 'expectation', finalSeq }));
    for (let i = 0; i < 20 && gaps.some((g) => (g?.missing ?? 0) > 0); i++) {
      await sleep(500);
      gaps = await fleet.all<'expectation'>(() => ({ type: 'expectation', finalSeq }));
    }
    const stats = await collectStats(fleet, true);
    const peak: Record<string, number> = {};
    for (const [name, pid] of Object.entries(running.procs.pids())) peak[name] = round((sampleProc(pid)?.peakRssBytes ?? 0) / MiB, 1);
    stats.workers.forEach((w, i) => (peak[`load-${i}`] = round(w.maxRssBytes / MiB, 1)));
    const overBudget = Object.entries(peak).filter(([name, mib]) =>
      name.startsWith('gw-')
        ? mib > budget.gatewayMiB
        : name === 'chat-service'
          ? mib > budget.chatServiceMiB
          : name.startsWith('load-')
            ? mib > budget.workerMiB
            : false,
    );

    const resumed = storms.reduce((n, s) => n + s.resumed, 0);
    const resync = storms.reduce((n, s) => n + s.resyncRequired, 0);
    const stormFailed = storms.reduce((n, s) => n + s.failed, 0);
    const allResumedMs = Math.max(...storms.map((s) => s.allResumedMs));
    const resumeLatency = summarize(mergeEncoded(storms.map((s) => s.resumeHist)));
    const withGap = gaps.reduce((n, g) => n + (g?.clientsWithGap ?? 0), 0);
    const missing = gaps.reduce((n, g) => n + (g?.missing ?? 0), 0);
    const timeline = sumTimelines(storms.map((s) => s.perSecond));
    const metrics: Record<string, number | string> = {
      'clients dropped': clients,
      'reconnected / resumed / resync required / failed': `${storms.reduce((n, s) => n + s.reconnected, 0)}/${resumed}/${resync}/${stormFailed}`,
      'time until all resumed (ms)': round(allResumedMs, 0),
      'syncs retried after a temporary refusal': storms.reduce((n, s) => n + s.syncRetries, 0),
      'resume latency p50/p99/max ms (drop → sync.result)': `${resumeLatency.p50}/${resumeLatency.p99}/${resumeLatency.max}`,
      'messages planned/sent/acked during run': `${send.planned}/${send.sent}/${send.acked}`,
      'send refusals / retries / ack timeouts during run': `${JSON.stringify(send.ackErrors)} / ${send.retries} / ${send.ackTimeouts}`,
      'messages recovered through sync': stats.synced,
      'duplicates (at-least-once, expected around a resume)': stats.duplicates,
      'clients with a gap at the end / missing seqs': `${withGap}/${missing}`,
      'unexpected closes (other than the storm)': stats.unexpectedCloses,
      ...Object.fromEntries(Object.entries(peak).map(([n, v]) => [`peak RSS MiB: ${n}`, v])),
    };
    const targets = [
      target('all clients resumed', `${clients}`, `${resumed} (resync ${resync}, failed ${stormFailed})`, resumed === clients),
      target('all resumed within 30 s', '≤ 30000 ms', `${round(allResumedMs, 0)} ms`, resumed === clients && allResumedMs <= 30_000),
      target('no gap after resume', '0 missing', `${missing} missing in ${withGap} clients`, missing === 0 && send.acked === send.planned),
      target(
        'peak RSS within budget',
        `gw ≤ ${budget.gatewayMiB} MiB, chat ≤ ${budget.chatServiceMiB} MiB, load ≤ ${budget.workerMiB} MiB`,
        overBudget.length ? overBudget.map(([n, v]) => `${n} ${v} MiB`).join(', ') : 'all within',
        overBudget.length === 0,
      ),
    ];
    const notes = [
      'Each receiver tracks its conversation (contiguous seq + out-of-order set); after the drop it reconnects to the same shard and sends sync with its last contiguous seq and epoch.',
      'Gap check: every receiver must hold seq 1..last_seq (last_seq from GET /v1/conversations) at the end.',
      'Peak RSS = VmHWM of each system process and maxRSS of each load worker.',
    ];
    const charts = [
      {
        title: 'reconnections per second after the drop',
        xLabel: 'seconds since drop',
        yLabel: 'reconnects/s',
        kind: 'line' as const,
        series: [{ name: 'reconnects', points: timeline.map((v, i) => [i, v] as [number, number]) }],
      },
    ];
    return { config, metrics, targets, charts, notes, details: { storms: storms.map((s) => ({ ...s, resumeHist: undefined })), peak } };
  } finally {
    await fleet?.all<'close'>(() => ({ type: 'close' })).catch(() => undefined);
    await fleet?.stop();
    await sys?.procs.stop();
  }
};
