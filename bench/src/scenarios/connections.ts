import type { ChildProcess } from 'node:child_process';
import { createRedis } from '@chat/server/clients';
import { createLogger } from '@chat/server/logger';
import { ProcessGroup } from '../system/processes.js';
import { LoadFleet, MAX_SOCKETS_PER_WORKER } from '../load/fleet.js';
import type { ClientSpec, ConnectReply } from '../load/protocol.js';
import { mergeEncoded, summarize } from '../report/histogram.js';
import type { RunningSystem } from '../system/system-under-test.js';
import { collectStats, cpuFigures, cpuMeter, param, round, sleep, sumRss, sumTimelines, target, type Scenario, startSystemFor } from './common.js';

async function redisUsedMemory(url: string): Promise<number> {
  const redis = createRedis(url, createLogger('bench', 'silent'), 'bench');
  try {
    const info = await redis.info('memory');
    return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? '0');
  } finally {
    redis.disconnect();
  }
}

interface HeapFigures {
  usedBytes: number;
  totalBytes: number;
  /** Per V8 heap space: [used, committed] bytes (absent for the sums). */
  spaces?: Record<string, [number, number]>;
}

/** Each gateway's live heap (GET /debug/heap: a full GC first) and heap capacity, one after another. */
async function gatewayHeaps(internalUrls: string[]): Promise<HeapFigures[]> {
  const out: HeapFigures[] = [];
  for (const url of internalUrls) {
    const res = await fetch(`${url}/debug/heap`);
    if (!res.ok) throw new Error(`${url}/debug/heap answered ${res.status}`);
    const h = (await res.json()) as Partial<HeapFigures>;
    if (typeof h.usedBytes !== 'number' || typeof h.totalBytes !== 'number') throw new Error(`${url}/debug/heap: unexpected body`);
    out.push({ usedBytes: h.usedBytes, totalBytes: h.totalBytes, ...(h.spaces ? { spaces: h.spaces } : {}) });
  }
  return out;
}

const sumHeaps = (hs: HeapFigures[]): HeapFigures => ({
  usedBytes: hs.reduce((n, h) => n + h.usedBytes, 0),
  totalBytes: hs.reduce((n, h) => n + h.totalBytes, 0),
});

/** The bare uWS server's live heap after a full GC, asked over IPC. */
function bareHeap(bare: ChildProcess): Promise<HeapFigures> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('bare uWS server: no heap reply in 10 s')), 10_000);
    bare.once('message', (m) => {
      clearTimeout(timer);
      resolve(m as HeapFigures);
    });
    bare.send({ id: 1, type: 'heap' });
  });
}

function split(n: number, parts: number): number[] {
  return Array.from({ length: parts }, (_, i) => Math.floor(n / parts) + (i < n % parts ? 1 : 0));
}

/** Ramp to N authenticated connections across shards, hold with pings; bare uWS baseline for RSS/conn. */
export const connections: Scenario = async (ctx) => {
  const total = param(ctx, 'connections', 50, 100_000);
  const gateways = param(ctx, 'gateways', 2, 6);
  const workers = param(ctx, 'workers', 2, Math.max(2, Math.ceil(total / 17_000)));
  const rate = param(ctx, 'rate', 200, 2500);
  const holdMs = param(ctx, 'holdSeconds', 3, 60) * 1000;
  const pingIntervalMs = param(ctx, 'pingIntervalSeconds', 1, 20) * 1000;
  const perWorker = split(total, workers);
  if (Math.max(...perWorker) > MAX_SOCKETS_PER_WORKER)
    throw new Error(`connections: ${Math.max(...perWorker)} sockets per worker exceeds ${MAX_SOCKETS_PER_WORKER}`);
  const config = { total, gateways, workers, rate, holdMs, pingIntervalMs, baselineConnections: Math.ceil(total / gateways) };
  ctx.log(`connections: ${JSON.stringify(config)}`);
  const redisUrl = process.env.REDIS_URL || 'redis://127.0.0.1:16379';

  let fleet: LoadFleet | undefined;
  let sys: RunningSystem | undefined;
  const bareProcs = new ProcessGroup(ctx.logDir, ctx.repoRoot);
  try {
    fleet = await LoadFleet.start(workers, { JWT_HS256_SECRET: process.env.JWT_HS256_SECRET || 'dev-secret-change-me' });

    // --- baseline: one bare uWS process with one shard's share of connections
    const barePort = ctx.basePort + 90;
    const bare = bareProcs.start('bare-uws', 'bench/dist/baseline/bare-uws-server.js', { BARE_PORT: String(barePort) }, true);
    await bareProcs.waitForPort('bare-uws', barePort);
    await sleep(300);
    const bareHeapBefore = await bareHeap(bare);
    const bareBefore = sumRss([bare.pid!]);
    const bareShare = split(config.baselineConnections, workers);
    const bareConn = await fleet.all<'connect'>((w) => ({
      type: 'connect',
      clients: Array.from({ length: bareShare[w]! }, (_, i): ClientSpec => ({ userId: `b${ctx.runId}-bare${w}-${i}`, url: `ws://127.0.0.1:${barePort}/ws` })),
      ratePerSec: rate / workers,
      maxInflight: 200,
      timeoutMs: 30_000,
      gateway: false,
    }));
    await sleep(2000);
    const bareAfter = sumRss([bare.pid!]);
    const bareHeapAfter = await bareHeap(bare);
    const bareOk = bareConn.reduce((n, c) => n + (c?.ok ?? 0), 0);
    const bareRssPerConn = bareOk > 0 ? (bareAfter - bareBefore) / bareOk : 0;
    const bareHeapPerConn = bareOk > 0 ? (bareHeapAfter.usedBytes - bareHeapBefore.usedBytes) / bareOk : 0;
    await fleet.all<'close'>(() => ({ type: 'close' }));
    await bareProcs.stop();
    ctx.log(`connections: bare uWS ${bareOk} connections, ${round(bareRssPerConn, 0)} B RSS/conn, ${round(bareHeapPerConn, 0)} B live heap/conn`);

    // --- the gateway
    sys = await startSystemFor(ctx, gateways);
    const running = sys;
    // In gatewayNames order; a gateway that exited counts 0.
    const gatewayRss = (): number[] => running.gatewayNames.map((n) => running.procs.pids()[n]).map((pid) => (pid === undefined ? 0 : sumRss([pid])));
    await sleep(1000);
    const heapsBefore = await gatewayHeaps(running.gatewayInternalUrls);
    const rssEachBefore = gatewayRss();
    const rssBefore = rssEachBefore.reduce((a, b) => a + b, 0);
    const redisBefore = await redisUsedMemory(redisUrl);
    const meter = cpuMeter(() => running.procs.pids(), fleet);
    meter.begin();
    let offset = 0;
    const specs = perWorker.map((n) => {
      const list = Array.from(
        { length: n },
        (_, i): ClientSpec => ({ userId: `b${ctx.runId}-c${offset + i}`, url: running.gatewayUrls[(offset + i) % gateways]! }),
      );
      offset += n;
      return list;
    });
    const conn = (
      await fleet.all<'connect'>((w) => ({
        type: 'connect',
        clients: specs[w]!,
        ratePerSec: rate / workers,
        maxInflight: 200,
        timeoutMs: 30_000,
        gateway: true,
      }))
    ).filter((c): c is ConnectReply => c !== undefined);
    const rampCpu = meter.end();
    const ok = conn.reduce((n, c) => n + c.ok, 0);
    const failures: Record<string, number> = {};
    for (const c of conn) for (const [k, v] of Object.entries(c.failures)) failures[k] = (failures[k] ?? 0) + v;
    const rampS = Math.max(...conn.map((c) => c.elapsedMs)) / 1000;
    const connectLatency = summarize(mergeEncoded(conn.map((c) => c.connectHist)));
    ctx.log(`connections: ${ok}/${total} connected in ${round(rampS, 1)} s; holding ${holdMs / 1000} s`);

    meter.begin();
    const holds = await fleet.all<'hold'>(() => ({ type: 'hold', durationMs: holdMs, pingIntervalMs }));
    const holdCpu = meter.end();
    // RSS first: the heap measurement's full GC may return memory to the system.
    const rssEachAfter = gatewayRss();
    const rssAfter = rssEachAfter.reduce((a, b) => a + b, 0);
    const heapsAfter = await gatewayHeaps(running.gatewayInternalUrls);
    const [heapBefore, heapAfter] = [sumHeaps(heapsBefore), sumHeaps(heapsAfter)];
    // Connections are dealt round-robin, so each gateway holds ok / gateways of them (±1).
    const perGateway = sys.gatewayNames.map((name, i) => {
      const held = ok / gateways;
      const perConn = (after: number | undefined, before: number | undefined) => round(((after ?? 0) - (before ?? 0)) / held, 0);
      return {
        name,
        rssPerConnection: perConn(rssEachAfter[i], rssEachBefore[i]),
        liveHeapPerConnection: perConn(heapsAfter[i]?.usedBytes, heapsBefore[i]?.usedBytes),
        heapCapacityPerConnection: perConn(heapsAfter[i]?.totalBytes, heapsBefore[i]?.totalBytes),
        // Where the capacity went: growth of each V8 space's committed size, per connection.
        capacityPerConnectionBySpace: Object.fromEntries(
          Object.entries(heapsAfter[i]?.spaces ?? {}).map(([space, [, size]]) => [space, perConn(size, heapsBefore[i]?.spaces?.[space]?.[1])]),
        ),
      };
    });
    const redisAfter = await redisUsedMemory(redisUrl);
    const stats = await collectStats(fleet, false);
    const pingsSent = holds.reduce((n, h) => n + (h?.pingsSent ?? 0), 0);
    const pongs = holds.reduce((n, h) => n + (h?.pongs ?? 0), 0);
    const pingLatency = summarize(mergeEncoded(holds.map((h) => h?.pingHist ?? '').filter((s) => s !== '')));
    const rssPerConn = ok > 0 ? (rssAfter - rssBefore) / ok : 0;
    const heapPerConn = ok > 0 ? (heapAfter.usedBytes - heapBefore.usedBytes) / ok : 0;
    const heapCapacityPerConn = ok > 0 ? (heapAfter.totalBytes - heapBefore.totalBytes) / ok : 0;
    const rssRatio = bareRssPerConn > 0 ? rssPerConn / bareRssPerConn : Number.NaN;
    const timeline = sumTimelines(conn.map((c) => c.perSecond));
    const crashed = sys.procs.crashed();

    const metrics: Record<string, number | string> = {
      'connections requested': total,
      'connections established': ok,
      'connect failures': Object.keys(failures).length ? JSON.stringify(failures) : 0,
      'held at end of hold (open)': stats.openClients,
      'unexpected closes': stats.unexpectedCloses,
      'ramp duration s': round(rampS, 1),
      'connect rate /s (average)': round(ok / Math.max(rampS, 0.001), 0),
      'connect rate /s (peak second)': Math.max(0, ...timeline),
      'connect latency p50/p99/max ms': `${connectLatency.p50}/${connectLatency.p99}/${connectLatency.max}`,
      'pings sent / pongs': `${pingsSent}/${pongs}`,
      'ping RTT p50/p99/max ms': `${pingLatency.p50}/${pingLatency.p99}/${pingLatency.max}`,
      'gateway RSS before (sum, MiB)': round(rssBefore / 2 ** 20, 1),
      'gateway RSS after (sum, MiB)': round(rssAfter / 2 ** 20, 1),
      'gateway RSS per connection (B)': round(rssPerConn, 0),
      'bare uWS RSS per connection (B)': round(bareRssPerConn, 0),
      'gateway / bare uWS RSS per connection': Number.isFinite(rssRatio) ? round(rssRatio, 2) : 'n/a',
      'gateway live heap per connection (B, after full GC)': round(heapPerConn, 0),
      'gateway heap capacity (V8 total) growth per connection (B, after full GC)': round(heapCapacityPerConn, 0),
      'bare uWS live heap per connection (B, after full GC)': round(bareHeapPerConn, 0),
      'per gateway: RSS / live heap / heap capacity per connection (B)': perGateway
        .map((g) => `${g.name} ${g.rssPerConnection}/${g.liveHeapPerConnection}/${g.heapCapacityPerConnection}`)
        .join(', '),
      'per gateway: heap capacity growth per connection by V8 space (B)': perGateway
        .map(
          (g) =>
            `${g.name} ${Object.entries(g.capacityPerConnectionBySpace)
              .filter(([, v]) => v !== 0)
              .map(([k, v]) => `${k.replace(/_space$/, '')} ${v}`)
              .join(' ')}`,
        )
        .join('; '),
      'Redis used_memory growth per connection (B)': ok > 0 ? round((redisAfter - redisBefore) / ok, 0) : 0,
      ...Object.fromEntries(Object.entries(cpuFigures(rampCpu, ok, 'connection')).map(([k, v]) => [`ramp: ${k}`, v])),
      ...Object.fromEntries(Object.entries(cpuFigures(holdCpu, 0, '')).map(([k, v]) => [`hold: ${k}`, v])),
    };
    const targets = [
      target('connections held', `${total}`, `${stats.openClients}`, stats.openClients === total && ok === total),
      target(
        'unexpected closes',
        '0',
        `${stats.unexpectedCloses}${stats.unexpectedCloses ? ` ${JSON.stringify(stats.closeCodes)}` : ''}`,
        stats.unexpectedCloses === 0,
      ),
      target('gateway RSS per connection', '≤ 2048 B', `${round(rssPerConn, 0)} B (bare uWS ${round(bareRssPerConn, 0)} B)`, rssPerConn <= 2048 && ok > 0),
      target(
        'gateway RSS per connection / bare uWS (same run)',
        '≤ 2',
        Number.isFinite(rssRatio) ? `${round(rssRatio, 2)} (live heap ${round(heapPerConn, 0)} B vs ${round(bareHeapPerConn, 0)} B)` : 'n/a',
        Number.isFinite(rssRatio) && rssRatio <= 2 && ok > 0,
      ),
      target('no system process crashed', 'none', crashed.length ? crashed.join(', ') : 'none', crashed.length === 0),
    ];
    const notes = [
      'RSS per connection = (sum of gateway VmRSS after the hold − before the ramp) / connections; distinct users, one connection each.',
      'Live heap per connection = (sum of V8 heap used after a full GC, GET /debug/heap, after the hold − before the ramp) / connections; the bare server is measured the same way over IPC. Heap capacity = the same for V8 total heap size.',
      `Bare uWS baseline: one process, ${config.baselineConnections} connections (one shard's share), same clients, same run.`,
      'Redis registry cost = growth of Redis used_memory during ramp+hold / connections (Redis is shared: other keys may move it).',
      'Connect latency = WebSocket start → hello frame (TCP + upgrade + JWT verification + Redis registration).',
    ];
    const charts = [
      {
        title: 'connections established per second',
        xLabel: 'seconds since ramp start',
        yLabel: 'connections/s',
        kind: 'line' as const,
        series: [{ name: 'gateway', points: timeline.map((v, i) => [i, v] as [number, number]) }],
      },
      {
        title: 'RSS per connection (bytes)',
        xLabel: '',
        yLabel: 'bytes',
        kind: 'bar' as const,
        categories: ['gateway', 'bare uWS'],
        series: [
          {
            name: 'RSS/conn',
            points: [
              [0, rssPerConn],
              [1, bareRssPerConn],
            ] as [number, number][],
          },
        ],
      },
    ];
    return { config, metrics, targets, charts, notes, details: { failures, timeline, closeCodes: stats.closeCodes, perGateway } };
  } finally {
    await fleet?.all<'close'>(() => ({ type: 'close' })).catch(() => undefined);
    await fleet?.stop();
    await bareProcs.stop();
    await sys?.procs.stop();
  }
};
