// A load worker of the `presence` scenario (forked, one per CPU share): holds its users' WebSockets,
// subscribes each to its group mates, runs its part of the flap plan and records what its
// watchers see. Every worker gets the whole plan, so it can tell which planned transition an
// event shows and measure its latency from the planned time (open loop).
import type { ServerFrame } from '@chat/protocol';
import { mintDevToken } from '@chat/server/auth';
import WebSocket from 'ws';
import { encodeHistogram, newHistogram, recordMs, type Histogram } from '../report/histogram.js';
import type {
  CheckResult,
  ConnectResult,
  FlapResult,
  PlannedDrop,
  PresenceClientSpec,
  PresenceWorkerReply,
  PresenceWorkerRequest,
  SubscribeResult,
} from './presence-protocol.js';

const WORKER_INDEX = Number(process.env.BENCH_WORKER_INDEX ?? '0');
const JWT = { secret: process.env.JWT_HS256_SECRET!, issuer: process.env.JWT_ISSUER!, audience: process.env.JWT_AUDIENCE! };

type PresenceFrame = Extract<ServerFrame, { type: 'presence' }>;

interface Client {
  spec: PresenceClientSpec;
  index: number;
  token: string;
  /** Bumped per reconnect: a fresh source address, so TIME_WAIT of the last one never collides. */
  generation: number;
  ws: WebSocket | undefined;
  open: boolean;
  /** What this watcher was told about each watched user (undefined: no subscribe reply yet). */
  believed: Map<string, boolean> | undefined;
  /** Pending requests by ref: called with the reply, or with why there is none (an error frame's name, 'closed'). */
  replies: Map<string, (frame: PresenceFrame | string) => void>;
  nextRef: number;
  onHello: (() => void) | undefined;
}

/** Loopback source addresses of their own (127.20+w.*.*): at most a few users per address and generation. */
function sourceAddress(generation: number, index: number): string {
  return `127.${20 + WORKER_INDEX}.${1 + (generation % 250)}.${1 + (index % 250)}`;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, ms)));

class PresenceLoadWorker {
  private clients: Client[] = [];
  private byUser = new Map<string, Client>();
  private graceMs = 3000;
  private plan = new Map<string, PlannedDrop[]>();
  private recording = false;
  private offline: Histogram = newHistogram();
  private online: Histogram = newHistogram();
  private unexplained = 0;
  private entries = 0;

  init(specs: PresenceClientSpec[], graceMs: number): null {
    this.graceMs = graceMs;
    this.clients = specs.map((spec, index) => ({
      spec,
      index,
      token: mintDevToken(JWT.secret, spec.userId, { issuer: JWT.issuer, audience: JWT.audience, ttlSeconds: 6 * 3600 }),
      generation: 0,
      ws: undefined,
      open: false,
      believed: undefined,
      replies: new Map(),
      nextRef: 0,
      onHello: undefined,
    }));
    this.byUser = new Map(this.clients.map((c) => [c.spec.userId, c]));
    return null;
  }

  async connectAll(ratePerSec: number, timeoutMs: number): Promise<ConnectResult> {
    const out: ConnectResult = { connected: 0, failed: 0, reasons: {} };
    await this.paced(this.clients, ratePerSec, async (c) => {
      const reason = await this.connect(c, timeoutMs);
      if (reason === 'ok') out.connected++;
      else {
        out.failed++;
        out.reasons[reason] = (out.reasons[reason] ?? 0) + 1;
      }
    });
    return out;
  }

  async subscribeAll(ratePerSec: number, timeoutMs: number): Promise<SubscribeResult> {
    const hist = newHistogram();
    let ok = 0;
    let failed = 0;
    const reasons: Record<string, number> = {};
    await this.paced(this.clients, ratePerSec, async (c) => {
      const reason = await this.subscribe(c, hist, timeoutMs);
      if (reason === 'ok') ok++;
      else {
        failed++;
        reasons[reason] = (reasons[reason] ?? 0) + 1;
      }
    });
    return { hist: encodeHistogram(hist), ok, failed, reasons };
  }

  async flap(plan: PlannedDrop[]): Promise<FlapResult> {
    this.plan = new Map();
    for (const p of plan) {
      let list = this.plan.get(p.userId);
      if (!list) this.plan.set(p.userId, (list = []));
      list.push(p);
    }
    for (const list of this.plan.values()) list.sort((a, b) => a.dropAt - b.dropAt);
    this.recording = true;
    const resub = newHistogram();
    const result = { drops: 0, reconnects: 0, failures: 0 };
    const mine = plan.filter((p) => this.byUser.has(p.userId));
    await Promise.all(
      mine.map(async (p) => {
        const c = this.byUser.get(p.userId)!;
        await sleep(p.dropAt - Date.now());
        if (!c.open) {
          result.failures++; // not back from an earlier drop: the plan leaves room, so the machine is overloaded
          return;
        }
        this.close(c);
        result.drops++;
        if (p.reconnectAt === null) return;
        await sleep(p.reconnectAt - Date.now());
        c.generation++;
        if ((await this.connect(c, 30_000)) !== 'ok' || (await this.subscribe(c, resub, 30_000)) !== 'ok') result.failures++;
        else result.reconnects++;
      }),
    );
    return {
      ...result,
      resubscribeHist: encodeHistogram(resub),
      offlineHist: encodeHistogram(this.offline),
      onlineHist: encodeHistogram(this.online),
      unexplained: this.unexplained,
      entries: this.entries,
    };
  }

  connected(): string[] {
    return this.clients.filter((c) => c.open).map((c) => c.spec.userId);
  }

  check(online: string[]): CheckResult {
    const truth = new Set(online);
    const out: CheckResult = { pairs: 0, mismatches: 0, absentWatchers: 0 };
    for (const c of this.clients) {
      if (!c.open || !c.believed) {
        out.absentWatchers++;
        continue;
      }
      for (const u of c.spec.watch) {
        out.pairs++;
        if (c.believed.get(u) !== truth.has(u)) out.mismatches++;
      }
    }
    return out;
  }

  /** Runs `fn` for each item at `ratePerSec` (open loop: started on schedule, not after the previous one). */
  private async paced<T>(items: readonly T[], ratePerSec: number, fn: (item: T) => Promise<void>): Promise<void> {
    const start = Date.now();
    const running: Promise<void>[] = [];
    for (const [i, item] of items.entries()) {
      await sleep(start + (i * 1000) / ratePerSec - Date.now());
      running.push(fn(item));
    }
    await Promise.all(running);
  }

  /** Opens the client's socket; resolves 'ok' at `hello`, or a reason. */
  private connect(c: Client, timeoutMs: number): Promise<string> {
    return new Promise((resolve) => {
      let settled = false;
      const settle = (reason: string) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        c.onHello = undefined;
        if (reason !== 'ok') ws.terminate();
        resolve(reason);
      };
      const timer = setTimeout(() => settle('timeout'), timeoutMs);
      const ws = new WebSocket(c.spec.url, {
        perMessageDeflate: false,
        handshakeTimeout: timeoutMs,
        localAddress: sourceAddress(c.generation, c.index),
        headers: { authorization: `Bearer ${c.token}` },
      });
      c.ws = ws;
      c.onHello = () => {
        c.open = true;
        settle('ok');
      };
      ws.on('message', (data: Buffer) => this.onFrame(c, ws, data.toString('utf8')));
      ws.on('error', (err: Error) => settle(err.message.slice(0, 40)));
      ws.on('unexpected-response', (_req, res) => settle(`http_${res.statusCode ?? 0}`));
      ws.on('close', () => {
        if (c.ws !== ws) return;
        c.open = false;
        c.believed = undefined;
        for (const r of c.replies.values()) r('closed');
        c.replies.clear();
        settle('closed');
      });
    });
  }

  private close(c: Client): void {
    const ws = c.ws;
    c.ws = undefined;
    c.open = false;
    c.believed = undefined;
    for (const r of c.replies.values()) r('closed');
    c.replies.clear();
    ws?.close();
  }

  /** presence.sub of every group mate; records the round trip and what the reply says. Resolves 'ok' or why not (an error's name, 'timeout', 'closed'). */
  private subscribe(c: Client, hist: Histogram, timeoutMs: number): Promise<string> {
    if (!c.open || !c.ws) return Promise.resolve('closed');
    const ref = `s${++c.nextRef}`;
    const sentAt = performance.now();
    const ws = c.ws;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        c.replies.delete(ref);
        resolve('timeout');
      }, timeoutMs);
      c.replies.set(ref, (frame) => {
        clearTimeout(timer);
        c.replies.delete(ref);
        if (typeof frame === 'string') return resolve(frame);
        recordMs(hist, performance.now() - sentAt);
        c.believed = new Map(frame.users.map((u) => [u.user_id, u.online]));
        resolve('ok');
      });
      ws.send(JSON.stringify({ type: 'presence.sub', ref, user_ids: c.spec.watch }));
    });
  }

  private onFrame(c: Client, ws: WebSocket, text: string): void {
    if (c.ws !== ws) return;
    const frame = JSON.parse(text) as ServerFrame;
    if (frame.type === 'hello') {
      c.onHello?.();
      return;
    }
    if (frame.type === 'error' && 'ref' in frame && typeof frame.ref === 'string') {
      c.replies.get(frame.ref)?.(frame.name);
      return;
    }
    if (frame.type !== 'presence') return;
    if (frame.ref !== undefined) {
      c.replies.get(frame.ref)?.(frame);
      return;
    }
    const now = Date.now();
    for (const u of frame.users) {
      c.believed?.set(u.user_id, u.online);
      if (!this.recording) continue;
      this.entries++;
      this.observe(u.user_id, u.online, now);
    }
  }

  /** Latency of a watcher's event from the planned transition it shows: a drop longer than the grace, or the reconnect ending one. */
  private observe(userId: string, online: boolean, now: number): void {
    let match: number | undefined;
    for (const p of this.plan.get(userId) ?? []) {
      const long = p.reconnectAt === null || p.reconnectAt - p.dropAt > this.graceMs;
      if (!long) continue;
      if (!online && p.dropAt <= now) match = p.dropAt;
      if (online && p.reconnectAt !== null && p.reconnectAt <= now) match = p.reconnectAt;
    }
    if (match === undefined) this.unexplained++;
    else recordMs(online ? this.online : this.offline, now - match);
  }
}

const worker = new PresenceLoadWorker();

process.on('message', (req: PresenceWorkerRequest) => {
  const reply = (r: PresenceWorkerReply) => process.send?.(r);
  const run = async (): Promise<PresenceWorkerReply> => {
    switch (req.type) {
      case 'init':
        return { id: req.id, type: 'init', result: worker.init(req.clients, req.graceMs) };
      case 'connect':
        return { id: req.id, type: 'connect', result: await worker.connectAll(req.ratePerSec, req.timeoutMs) };
      case 'subscribe':
        return { id: req.id, type: 'subscribe', result: await worker.subscribeAll(req.ratePerSec, req.timeoutMs) };
      case 'flap':
        return { id: req.id, type: 'flap', result: await worker.flap(req.plan) };
      case 'connected':
        return { id: req.id, type: 'connected', result: worker.connected() };
      case 'check':
        return { id: req.id, type: 'check', result: worker.check(req.online) };
    }
  };
  run().then(reply, (err: Error) => reply({ id: req.id, type: 'error', message: err.message }));
});
process.on('SIGTERM', () => process.exit(0));
