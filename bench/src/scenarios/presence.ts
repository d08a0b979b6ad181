import { envDefault } from '@chat/server/config';
import type { PlannedDrop, PresenceClientSpec } from '../load/presence-protocol.js';
import { PresenceFleet } from '../load/presence-fleet.js';
import { mergeEncoded, summarize } from '../report/histogram.js';
import { commandDeltas, PrivateRedis } from '../system/private-redis.js';
import { CpuMeter } from '../system/proc-stats.js';
import { Rest, mapLimit } from '../system/rest.js';
import type { RunningSystem } from '../system/system-under-test.js';
import { param, round, sleep, startSystemFor, target, type Scenario } from './common.js';

/** Commands a subscribe may cost: today's (ZMSCORE, MGET, SUBSCRIBE, UNSUBSCRIBE) and the per-user reads it replaced (GET, ZSCORE). */
const SUBSCRIBE_COMMANDS = ['zmscore', 'mget', 'subscribe', 'unsubscribe', 'get', 'zscore'];

/**
 * Presence at scale: `users` in groups of `groupSize`, each watching its group mates; everyone
 * subscribes, then `flapSeconds` of flapping (`disconnectsPerSec` drops; `shortShare` of them
 * come back within `shortMaxMs`, inside the offline grace, the others after `longMinMs`–`longMaxMs`
 * or not at all when that falls after the flap). Measured side by side: Redis commands per
 * subscribed user (INFO commandstats of a Redis of the run's own), presence-service CPU per
 * subscribe and per transition, subscribe round trips, offline/online latency as watchers see
 * it, and whether every watcher ends up believing the truth.
 */
export const presence: Scenario = async (ctx) => {
  const users = param(ctx, 'users', 200, 5000);
  const groupSize = param(ctx, 'groupSize', 50, 200);
  const gateways = param(ctx, 'gateways', 2, 4);
  const workers = param(ctx, 'workers', 1, 2);
  const connectRate = param(ctx, 'connectRate', 200, 1000);
  const subscribeRate = param(ctx, 'subscribeRate', 200, 1000);
  const flapSeconds = param(ctx, 'flapSeconds', 10, 60);
  const disconnectsPerSec = param(ctx, 'disconnectsPerSec', 10, 100);
  const shortShare = param(ctx, 'shortSharePercent', 50, 50) / 100;
  const shortMaxMs = param(ctx, 'shortMaxMs', 2000, 2000);
  const longMinMs = param(ctx, 'longMinMs', 6000, 6000);
  const longMaxMs = param(ctx, 'longMaxMs', 12000, 12000);
  const seed = param(ctx, 'seed', 1, 1);
  const graceMs = envDefault('PRESENCE_OFFLINE_GRACE_MS');
  const sweepMs = envDefault('PRESENCE_SWEEP_INTERVAL_MS');
  const flushMs = envDefault('PRESENCE_FLUSH_MS');
  const groups = Math.floor(users / groupSize);
  const config = {
    users: groups * groupSize,
    groupSize,
    groups,
    gateways,
    presenceInstances: 2,
    workers,
    connectRate,
    subscribeRate,
    flapSeconds,
    disconnectsPerSec,
    shortShare,
    shortMaxMs,
    longMinMs,
    longMaxMs,
    seed,
    graceMs,
    sweepMs,
    flushMs,
  };
  ctx.log(`presence: ${JSON.stringify(config)}`);

  let redis: PrivateRedis | undefined;
  let sys: RunningSystem | undefined;
  let fleet: PresenceFleet | undefined;
  try {
    redis = await PrivateRedis.start(ctx.basePort + 90);
    sys = await startSystemFor(ctx, gateways, { extraEnv: { REDIS_URL: redis.url } });
    const running = sys;
    const rest = new Rest(sys.chatUrl, sys.env);
    const member = (g: number, i: number) => `p${ctx.runId}-g${g}-u${i}`;
    const groupMembers = (g: number) => Array.from({ length: groupSize }, (_, i) => member(g, i));
    await mapLimit(
      Array.from({ length: groups }, (_, g) => g),
      4,
      (g) => rest.createGroup(member(g, 0), `presence ${g}`, groupMembers(g).slice(1)),
    );

    // Users round-robin over workers and gateways; each watches its group mates.
    const specs: PresenceClientSpec[][] = Array.from({ length: workers }, () => []);
    let k = 0;
    for (let g = 0; g < groups; g++) {
      const mates = groupMembers(g);
      for (const u of mates) {
        specs[k % workers]!.push({ userId: u, url: running.gatewayUrls[k % gateways]!, watch: mates.filter((m) => m !== u) });
        k++;
      }
    }
    const everyone = specs.flat().map((s) => s.userId);
    fleet = PresenceFleet.start(workers, sys.env);
    const f = fleet;
    await f.all<'init'>((w) => ({ type: 'init', clients: specs[w]!, graceMs }));
    const conn = await f.all<'connect'>(() => ({ type: 'connect', ratePerSec: connectRate / workers, timeoutMs: 30_000 }));
    const connected = conn.reduce((n, c) => n + c.connected, 0);
    if (connected !== everyone.length)
      throw new Error(`presence: ${everyone.length - connected} users failed to connect: ${JSON.stringify(conn.map((c) => c.reasons))}`);
    // Every user's connect report has reached Redis (batched per 50 ms) well before this.
    await sleep(2000);

    const presencePids = () => Object.fromEntries(Object.entries(running.procs.pids()).filter(([name]) => name.startsWith('presence')));
    const allPids = () => ({ ...running.procs.pids(), redis: redis!.pid, ...Object.fromEntries(f.pids.map((p, i) => [`load-${i}`, p])) });

    // Idle baseline with everyone connected (heartbeats, routing refreshes, sweeps): subtracted from the phases' figures.
    const idleMs = 5000;
    const idleCpu = new CpuMeter(allPids);
    let before = await redis.commandCalls();
    idleCpu.begin();
    await sleep(idleMs);
    const idleCpuUse = idleCpu.end();
    const idleCommands = commandDeltas(before, await redis.commandCalls());
    const idlePresenceCoresTotal = Object.entries(idleCpuUse).reduce((n, [name, v]) => n + (name.startsWith('presence') ? v.cpuMs : 0), 0) / idleMs;
    const idleCommandsPerMs = total(idleCommands) / idleMs;

    // Phase 1: everyone subscribes to its group mates.
    ctx.log(`presence: ${everyone.length} connected; subscribing at ${subscribeRate}/s`);
    const subCpu = new CpuMeter(allPids);
    before = await redis.commandCalls();
    const subStart = Date.now();
    subCpu.begin();
    const subs = await f.all<'subscribe'>(() => ({ type: 'subscribe', ratePerSec: subscribeRate / workers, timeoutMs: 30_000 }));
    const subCpuUse = subCpu.end();
    const subMs = Date.now() - subStart;
    const subCommands = commandDeltas(before, await redis.commandCalls());
    const subscribed = subs.reduce((n, s) => n + s.ok, 0);
    const subFailed = subs.reduce((n, s) => n + s.failed, 0);
    const subReasons: Record<string, number> = {};
    for (const s of subs) for (const [r, n] of Object.entries(s.reasons)) subReasons[r] = (subReasons[r] ?? 0) + n;
    const subLatency = summarize(mergeEncoded(subs.map((s) => s.hist)));
    const subPathCalls = SUBSCRIBE_COMMANDS.reduce((n, c) => n + (subCommands[c] ?? 0), 0);
    const subAllCalls = Math.max(0, total(subCommands) - idleCommandsPerMs * subMs);
    const presenceCpuMs = (use: Record<string, { cpuMs: number }>) =>
      Object.entries(use).reduce((n, [name, v]) => n + (name.startsWith('presence') ? v.cpuMs : 0), 0);
    const subPresenceMs = Math.max(0, presenceCpuMs(subCpuUse) - idlePresenceCoresTotal * subMs);

    // Phase 2: flapping.
    const flapStart = Date.now() + 1000;
    const plan = flapPlan(everyone, { start: flapStart, flapMs: flapSeconds * 1000, disconnectsPerSec, shortShare, shortMaxMs, longMinMs, longMaxMs, seed });
    ctx.log(`presence: ${subscribed} subscribed; flapping ${plan.length} disconnects over ${flapSeconds} s`);
    const flapCpu = new CpuMeter(allPids);
    before = await redis.commandCalls();
    const flapBegin = Date.now();
    flapCpu.begin();
    const flaps = await f.all<'flap'>(() => ({ type: 'flap', plan }));
    const flapCpuUse = flapCpu.end();
    const flapMs = Date.now() - flapBegin;
    const flapCommands = commandDeltas(before, await redis.commandCalls());
    const drops = flaps.reduce((n, x) => n + x.drops, 0);
    const reconnects = flaps.reduce((n, x) => n + x.reconnects, 0);
    const flapFailures = flaps.reduce((n, x) => n + x.failures, 0);
    const flapPresenceMs = Math.max(0, presenceCpuMs(flapCpuUse) - idlePresenceCoresTotal * flapMs);

    // Settle for the documented bound (grace + sweep + flush) with margin, then compare every watcher with the truth.
    const settleMs = graceMs + sweepMs + flushMs + 2000;
    await sleep(settleMs);
    const online = (await f.all<'connected'>(() => ({ type: 'connected' }))).flat();
    const checks = await f.all<'check'>(() => ({ type: 'check', online }));
    const pairs = checks.reduce((n, c) => n + c.pairs, 0);
    const mismatches = checks.reduce((n, c) => n + c.mismatches, 0);
    const offline = summarize(mergeEncoded(flaps.map((x) => x.offlineHist)));
    const onlineLat = summarize(mergeEncoded(flaps.map((x) => x.onlineHist)));
    const resub = summarize(mergeEncoded(flaps.map((x) => x.resubscribeHist)));
    const unexplained = flaps.reduce((n, x) => n + x.unexplained, 0);
    const entries = flaps.reduce((n, x) => n + x.entries, 0);
    const longDrops = plan.filter((p) => p.reconnectAt === null || p.reconnectAt - p.dropAt > graceMs).length;

    const perSubscribed = subscribed > 0 ? subPathCalls / subscribed : Number.POSITIVE_INFINITY;
    const metrics: Record<string, number | string> = {
      'users / groups / watcher–user pairs': `${everyone.length} / ${groups} / ${everyone.length * (groupSize - 1)}`,
      'Redis commands per subscribed user (ZMSCORE, MGET, SUBSCRIBE, UNSUBSCRIBE, GET, ZSCORE)': round(perSubscribed, 3),
      'Redis commands per subscribed user, all commands in the phase less the idle rate': round(subAllCalls / Math.max(1, subscribed), 3),
      'subscribe round trip p50/p99/max ms': `${subLatency.p50}/${subLatency.p99}/${subLatency.max}`,
      'subscribes ok / failed': `${subscribed} / ${subFailed}`,
      'failed subscribes by reason': subFailed > 0 ? JSON.stringify(subReasons) : '-',
      'presence-service CPU µs per subscribe (both instances, less idle)': round((subPresenceMs * 1000) / Math.max(1, subscribed), 1),
      'presence-service CPU cores idle (both instances)': round(idlePresenceCoresTotal, 3),
      'disconnects / reconnects / failures': `${drops} / ${reconnects} / ${flapFailures}`,
      'presence-service CPU µs per transition (disconnect or reconnect incl. its re-subscribe; less idle)': round(
        (flapPresenceMs * 1000) / Math.max(1, drops + reconnects),
        1,
      ),
      'Redis commands per disconnect cycle (all commands during the flap less the idle rate, per disconnect)': round(
        Math.max(0, total(flapCommands) - idleCommandsPerMs * flapMs) / Math.max(1, drops),
        1,
      ),
      're-subscribe round trip p50/p99 ms': `${resub.p50}/${resub.p99}`,
      'offline seen by watchers p50/p99 ms after the drop (includes the grace)': `${offline.p50}/${offline.p99}`,
      'online seen by watchers p50/p99 ms after the planned reconnect': `${onlineLat.p50}/${onlineLat.p99}`,
      'offline / online events seen': `${offline.count} / ${onlineLat.count}`,
      'drops longer than the grace (visible)': longDrops,
      'events no planned long drop explains': unexplained,
      'presence entries delivered during the flap': entries,
      'mismatches after settling / pairs checked': `${mismatches} / ${pairs}`,
    };
    for (const [name, v] of Object.entries(subCpuUse)) metrics[`cpu cores while subscribing: ${name}`] = v.cores;
    for (const [name, v] of Object.entries(flapCpuUse)) metrics[`cpu cores while flapping: ${name}`] = v.cores;

    const offlineBound = graceMs + sweepMs + flushMs;
    const targets = [
      target('Redis commands per subscribed user', '≤ 2', `${round(perSubscribed, 3)}`, perSubscribed <= 2),
      target(`subscribe p99 at ${everyone.length} users`, '≤ 250 ms', `${subLatency.p99} ms (${subFailed} failed)`, subLatency.p99 <= 250 && subFailed === 0),
      target('mismatches after settling', '0', `${mismatches} of ${pairs} pairs`, mismatches === 0 && pairs > 0),
    ];
    const notes = [
      `Presence-service runs as 2 instances; gateways spread calls over them (PRESENCE_SERVICE_URL lists both). Redis is the run's own (INFO commandstats count this run only).`,
      `Subscribe cost counts the commands a subscribe can cause (${SUBSCRIBE_COMMANDS.join(', ')}) over the subscribe phase; the all-commands figure counts everything less the rate of a ${idleMs / 1000} s idle window with everyone connected (heartbeats, routing refreshes, sweeps), and so holds the gateways' rate-limit accounting too. CPU figures subtract the idle window's rate the same way.`,
      `Offline latency runs from the planned drop and includes the offline grace (${graceMs} ms); the documented bound is grace + sweep + flush = ${offlineBound} ms. Online latency runs from the planned reconnect and includes connecting (JWT, routing) and the flush.`,
      `Mismatches: after the flap and ${settleMs} ms, each connected watcher's belief (its subscribe reply, then every event) is compared with who is connected; users whose long drop ended after the flap stay offline, so the truth is mixed.`,
      'Latencies are open-loop from planned times; the load workers share the machine with the system under test.',
    ];
    return {
      config,
      metrics,
      targets,
      charts: [],
      notes,
      details: {
        idleCommands,
        subscribeCommands: subCommands,
        flapCommands,
        idleCpuUse,
        subCpuUse,
        flapCpuUse,
        subscribeLatency: subLatency,
        offline,
        online: onlineLat,
        resubscribe: resub,
      },
    };
  } finally {
    await fleet?.stop();
    await sys?.procs.stop();
    await redis?.stop();
  }
};

function total(calls: Record<string, number>): number {
  return Object.entries(calls).reduce((n, [cmd, c]) => n + (cmd === 'info' ? 0 : c), 0);
}

interface FlapOptions {
  start: number;
  flapMs: number;
  disconnectsPerSec: number;
  shortShare: number;
  shortMaxMs: number;
  longMinMs: number;
  longMaxMs: number;
  seed: number;
}

/** The disconnects of the flap, evenly spaced; a user is dropped again only 3 s after it is back. Seeded, so runs are comparable. */
export function flapPlan(users: readonly string[], o: FlapOptions): PlannedDrop[] {
  const rnd = mulberry32(o.seed);
  const busyUntil = new Map<string, number>();
  const plan: PlannedDrop[] = [];
  const count = Math.round((o.flapMs / 1000) * o.disconnectsPerSec);
  for (let i = 0; i < count; i++) {
    const dropAt = Math.round(o.start + (i * 1000) / o.disconnectsPerSec);
    let userId = users[Math.floor(rnd() * users.length)]!;
    for (let tries = 0; (busyUntil.get(userId) ?? 0) > dropAt && tries < 50; tries++) userId = users[Math.floor(rnd() * users.length)]!;
    if ((busyUntil.get(userId) ?? 0) > dropAt) continue;
    const short = rnd() < o.shortShare;
    const after = short ? 200 + rnd() * (o.shortMaxMs - 200) : o.longMinMs + rnd() * (o.longMaxMs - o.longMinMs);
    let reconnectAt: number | null = Math.round(dropAt + after);
    if (!short && reconnectAt > o.start + o.flapMs) reconnectAt = null;
    plan.push({ userId, dropAt, reconnectAt });
    busyUntil.set(userId, reconnectAt === null ? Number.POSITIVE_INFINITY : reconnectAt + 3000);
  }
  return plan;
}

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
