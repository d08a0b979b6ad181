/**
 * Load-generator worker (child_process.fork). Holds up to ~18k lean `ws` clients, each bound to a
 * source address of its own 127.x.y.z range, and answers the coordinator's requests over IPC.
 * Not the SDK, but it sends as the SDK does (same client_msg_id on retries, at most SENDS_IN_FLIGHT
 * sends unanswered per connection); no inbox beyond a seq tracker; the clock is performance.timeOrigin + now().
 */
import { performance } from 'node:perf_hooks';
import { SENDS_IN_FLIGHT, type ChatMessage, type Position, type SendFrame, type ServerFrame, type SyncFrame } from '@chat/protocol';
import WebSocket from 'ws';
import { mintDevToken } from '@chat/server/auth';
import { encodeHistogram, newHistogram, recordMs, type Histogram } from '../report/histogram.js';
import type { ClientSpec, ConnectReply, ExpectationReply, HoldReply, SendReply, StatsReply, StormReply, WorkerReply, WorkerRequest } from './protocol.js';
import { sourceAddress } from './source-address.js';

const WORKER_INDEX = Number(process.env.BENCH_WORKER_INDEX ?? '0');
const JWT_SECRET = process.env.JWT_HS256_SECRET || 'dev-secret-change-me';
const JWT_ISSUER = process.env.JWT_ISSUER || 'chat-dev';
const JWT_AUDIENCE = process.env.JWT_AUDIENCE || 'chat';

const now = (): number => performance.timeOrigin + performance.now();

interface Tracker {
  contig: number;
  ahead: Set<number>;
  epoch?: string;
}

interface Client {
  spec: ClientSpec;
  token: string;
  ws?: WebSocket;
  open: boolean;
  expectClose: boolean;
  generation: number;
  refSeq: number;
  trackers: Map<string, Tracker>;
  /** Sends transmitted and not answered yet (at most SENDS_IN_FLIGHT, as the SDK keeps them). */
  sendsInFlight: number;
  /** Send frames waiting for a slot, oldest first. */
  waitingSends: string[];
  onHello?: (ok: boolean, reason: string) => void;
  /** A `sync.result`; `more` = a page of it was cut for size and the client asks again from where it got to. */
  onSync?: (resync: boolean, more: boolean) => void;
  /** An `error` frame answering a sync; `retry` says whether asking again can succeed. */
  onSyncError?: (retry: boolean) => void;
}

const MAX_SEND_ATTEMPTS = 5;

function shortReason(msg: string): string {
  const m = /(E[A-Z]+)/.exec(msg);
  return m?.[1] ?? msg.slice(0, 60);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** One load-generator process: its clients and what it measured; answers the coordinator's requests. */
class LoadWorker {
  private readonly clients: Client[] = [];
  private readonly pendingAcks = new Map<string, number>(); // `${client}:${ref}` -> planned send time
  /** The frame of each pending send, sent again (same client_msg_id) after a temporary refusal, as the SDK's outbox does. */
  private readonly pendingSendFrames = new Map<string, { ws: WebSocket; frame: string; attempts: number }>();
  private sendRetries = 0;
  private readonly pendingPings = new Map<string, number>();
  private ackHist = newHistogram();
  private ackCount = 0;
  private readonly ackErrors: Record<string, number> = {};
  private pongs = 0;
  private pingHist = newHistogram();

  // receive statistics (reset by `stats` with reset=true)
  private latencyHist = newHistogram();
  private received = 0;
  private synced = 0;
  private duplicates = 0;
  private outOfOrder = 0;
  private unexpectedCloses = 0;
  private closeCodes: Record<string, number> = {};
  private perMessage = new Map<string, [number, number, number, number]>();
  private firstReceiveAt = 0;
  private lastReceiveAt = 0;

  private bump(rec: Record<string, number>, key: string): void {
    rec[key] = (rec[key] ?? 0) + 1;
  }

  private track(c: Client, conversationId: string, seq: number, epoch: string | undefined): void {
    const t = c.trackers.get(conversationId);
    if (!t) return;
    if (epoch !== undefined) t.epoch = epoch;
    if (seq <= t.contig || t.ahead.has(seq)) {
      this.duplicates++;
      return;
    }
    if (seq === t.contig + 1) {
      t.contig = seq;
      while (t.ahead.delete(t.contig + 1)) t.contig++;
    } else {
      this.outOfOrder++;
      t.ahead.add(seq);
    }
  }

  private onLiveMessage(c: Client, m: ChatMessage, at: number): void {
    // Only conversations this client tracks count (a sender's own echo does not).
    if (!c.trackers.has(m.conversation_id)) return;
    this.received++;
    if (this.firstReceiveAt === 0) this.firstReceiveAt = at;
    this.lastReceiveAt = at;
    this.track(c, m.conversation_id, m.seq, m.epoch);
    if (m.body.charCodeAt(0) !== 123 /* { */) return;
    let body: { t?: unknown; g?: unknown; k?: unknown };
    try {
      body = JSON.parse(m.body) as typeof body;
    } catch {
      return;
    }
    if (typeof body.t !== 'number') return;
    const latency = at - body.t;
    recordMs(this.latencyHist, latency);
    const key = `${String(body.g)}:${String(body.k)}`;
    const e = this.perMessage.get(key);
    if (e) {
      e[0]++;
      if (latency > e[1]) e[1] = latency;
      if (at > e[3]) e[3] = at;
    } else this.perMessage.set(key, [1, latency, at, at]);
  }

  private onFrame(c: Client, index: number, raw: string): void {
    const at = now();
    let f: ServerFrame;
    try {
      f = JSON.parse(raw) as ServerFrame;
    } catch {
      this.bump(this.closeCodes, 'bad_json');
      return;
    }
    switch (f.type) {
      case 'hello':
        c.onHello?.(true, '');
        return;
      case 'message':
        this.onLiveMessage(c, f, at);
        return;
      case 'ack': {
        const key = `${index}:${String(f.ref)}`;
        const planned = this.pendingAcks.get(key);
        if (planned !== undefined) {
          this.pendingAcks.delete(key);
          this.pendingSendFrames.delete(key);
          this.ackCount++;
          recordMs(this.ackHist, at - planned);
          this.sendAnswered(c);
        }
        return;
      }
      case 'pong': {
        const key = `${index}:${String(f.ref)}`;
        const sentAt = this.pendingPings.get(key);
        if (sentAt !== undefined) {
          this.pendingPings.delete(key);
          this.pongs++;
          recordMs(this.pingHist, at - sentAt);
        }
        return;
      }
      case 'sync.result': {
        let resync = false;
        let more = false;
        for (const conv of f.conversations ?? []) {
          if (conv.status !== 'ok') resync = true;
          if (conv.has_more === true) more = true;
          for (const m of conv.messages) {
            this.synced++;
            this.track(c, m.conversation_id, m.seq, conv.epoch);
          }
        }
        c.onSync?.(resync, more);
        return;
      }
      case 'error': {
        const key = `${index}:${String(f.ref)}`;
        const retry = f.retry === true ? this.pendingSendFrames.get(key) : undefined;
        if (retry && this.pendingAcks.has(key) && retry.attempts < MAX_SEND_ATTEMPTS) {
          this.sendRetries++;
          // As the SDK does: a jittered backoff, or the server's retry-after hint when longer; the
          // send's slot is free meanwhile, and it goes again ahead of the sends that waited behind it.
          const backoff = Math.min(100 * 2 ** retry.attempts++, 2000);
          const hint = typeof f.retry_after_ms === 'number' ? f.retry_after_ms : 0;
          this.sendAnswered(c);
          setTimeout(
            () => {
              if (this.pendingSendFrames.get(key) === retry && c.ws === retry.ws) this.transmit(c, retry.frame, true);
            },
            Math.max(backoff / 2 + Math.random() * backoff, hint),
          );
          return;
        }
        this.pendingSendFrames.delete(key);
        if (this.pendingAcks.delete(key)) {
          this.bump(this.ackErrors, String(f.name));
          this.sendAnswered(c);
        } else this.bump(this.closeCodes, `error:${String(f.name)}`);
        if (String(f.ref).startsWith('s')) c.onSyncError?.(f.retry === true);
        return;
      }
      default:
        return;
    }
  }

  private openClient(index: number, timeoutMs: number): Promise<{ ok: boolean; reason: string }> {
    const c = this.clients[index]!;
    return new Promise((resolve) => {
      let settled = false;
      const settle = (ok: boolean, reason: string) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        c.onHello = undefined;
        resolve({ ok, reason });
      };
      const timer = setTimeout(() => {
        settle(false, 'timeout');
        c.expectClose = true;
        c.ws?.terminate();
      }, timeoutMs);
      let ws: WebSocket;
      try {
        ws = new WebSocket(c.spec.url, {
          perMessageDeflate: false,
          skipUTF8Validation: true,
          handshakeTimeout: timeoutMs,
          localAddress: sourceAddress(WORKER_INDEX, c.generation, index),
          headers: { authorization: `Bearer ${c.token}` },
        });
      } catch (err) {
        settle(false, (err as Error).message);
        return;
      }
      c.ws = ws;
      c.expectClose = false;
      c.onHello = (ok, reason) => {
        c.open = ok;
        settle(ok, reason);
      };
      ws.on('message', (data: Buffer) => this.onFrame(c, index, data.toString('utf8')));
      ws.on('error', (err: Error) => settle(false, shortReason(err.message)));
      ws.on('unexpected-response', (_req, res) => {
        settle(false, `http_${res.statusCode ?? 0}`);
        ws.terminate();
      });
      ws.on('close', (code: number) => {
        const wasOpen = c.open;
        if (c.ws === ws) c.open = false;
        settle(false, `close_${code}`);
        if (wasOpen && !c.expectClose) {
          this.unexpectedCloses++;
          this.bump(this.closeCodes, String(code));
        }
      });
    });
  }

  /** Starts `indexes` at `ratePerSec` with at most `maxInflight` handshakes at once. */
  private async connectMany(
    indexes: number[],
    ratePerSec: number,
    maxInflight: number,
    timeoutMs: number,
    onOpen?: (index: number) => Promise<void>,
  ): Promise<ConnectReply> {
    const hist = newHistogram();
    const failures: Record<string, number> = {};
    const perSecond: number[] = [];
    const t0 = now();
    let next = 0;
    let inflight = 0;
    let ok = 0;
    let failed = 0;
    await new Promise<void>((resolve) => {
      if (indexes.length === 0) return resolve();
      const pump = () => {
        const t = now();
        while (next < indexes.length && inflight < maxInflight && t0 + (next * 1000) / ratePerSec <= t) {
          const index = indexes[next++]!;
          inflight++;
          const started = now();
          void this.openClient(index, timeoutMs).then(async ({ ok: good, reason }) => {
            if (good) {
              const done = now();
              recordMs(hist, done - started);
              const sec = Math.floor((done - t0) / 1000);
              while (perSecond.length <= sec) perSecond.push(0);
              perSecond[sec]!++;
              ok++;
              if (onOpen) await onOpen(index);
            } else {
              failed++;
              this.bump(failures, reason);
            }
            inflight--;
            if (ok + failed === indexes.length) resolve();
            else setImmediate(pump);
          });
        }
        if (next < indexes.length && inflight < maxInflight) setTimeout(pump, 2);
      };
      pump();
    });
    return { ok, failed, failures, connectHist: encodeHistogram(hist), perSecond, elapsedMs: now() - t0 };
  }

  private async handleConnect(req: Extract<WorkerRequest, { type: 'connect' }>): Promise<ConnectReply> {
    const first = this.clients.length;
    for (const spec of req.clients) {
      this.clients.push({
        spec,
        token: mintDevToken(JWT_SECRET, spec.userId, { issuer: JWT_ISSUER, audience: JWT_AUDIENCE, ttlSeconds: 6 * 3600 }),
        open: false,
        expectClose: false,
        generation: 0,
        refSeq: 0,
        sendsInFlight: 0,
        waitingSends: [],
        trackers: new Map((spec.track ?? []).map((cid) => [cid, { contig: 0, ahead: new Set<number>() }])),
      });
    }
    const indexes = req.clients.map((_, i) => first + i);
    return this.connectMany(indexes, req.ratePerSec, req.maxInflight, req.timeoutMs);
  }

  private async handleSend(req: Extract<WorkerRequest, { type: 'send' }>): Promise<SendReply> {
    const total = Math.max(0, Math.round((req.ratePerSec * req.durationMs) / 1000));
    const interval = 1000 / req.ratePerSec;
    const pad = req.bodyBytes > 60 ? 'x'.repeat(req.bodyBytes - 60) : undefined;
    const ackedBefore = this.ackCount;
    let sent = 0;
    let i = 0;
    let maxLag = 0;
    const t0 = now() + 20;
    await new Promise<void>((resolve) => {
      const tick = () => {
        const t = now();
        while (i < total && t0 + i * interval <= t) {
          const planned = t0 + i * interval;
          if (t - planned > maxLag) maxLag = t - planned;
          const sender = req.senders[i % req.senders.length]!;
          const c = this.clients[sender.client]!;
          if (c.open && c.ws) {
            const ref = String(++c.refSeq);
            const body = JSON.stringify({ t: planned, g: req.tag, k: i, ...(pad ? { p: pad } : {}) });
            const frame = JSON.stringify({
              type: 'send',
              ref,
              conversation_id: sender.conversationId,
              client_msg_id: `${req.tag}-${WORKER_INDEX}-${i}`,
              body,
            } satisfies SendFrame);
            this.pendingAcks.set(`${sender.client}:${ref}`, planned);
            this.pendingSendFrames.set(`${sender.client}:${ref}`, { ws: c.ws, frame, attempts: 0 });
            this.transmit(c, frame);
            sent++;
          } else this.bump(this.ackErrors, 'sender_not_open');
          i++;
        }
        if (i < total) setTimeout(tick, Math.max(0, Math.min(5, t0 + i * interval - now())));
        else resolve();
      };
      setTimeout(tick, 20);
    });
    const endedSending = now();
    const deadline = endedSending + req.ackTimeoutMs;
    while (this.ackCount - ackedBefore + this.sumErrors() < sent && now() < deadline) await sleep(20);
    const acked = this.ackCount - ackedBefore;
    const timeouts = this.pendingAcks.size;
    this.pendingAcks.clear();
    this.pendingSendFrames.clear();
    for (const c of this.clients) {
      c.sendsInFlight = 0;
      c.waitingSends = [];
    }
    const reply: SendReply = {
      planned: total,
      sent,
      acked,
      ackErrors: { ...this.ackErrors },
      ackTimeouts: timeouts,
      retries: this.sendRetries,
      ackHist: encodeHistogram(this.ackHist),
      maxSchedulerLagMs: maxLag,
      startedAt: t0,
      endedAt: endedSending,
    };
    this.ackHist = newHistogram();
    this.sendRetries = 0;
    for (const k of Object.keys(this.ackErrors)) delete this.ackErrors[k];
    return reply;
  }

  /** As the SDK does: at most SENDS_IN_FLIGHT sends unanswered per connection; later ones wait, in order. */
  private transmit(c: Client, frame: string, ahead = false): void {
    if (c.sendsInFlight < SENDS_IN_FLIGHT && c.ws) {
      c.sendsInFlight++;
      c.ws.send(frame);
    } else if (ahead) c.waitingSends.unshift(frame);
    else c.waitingSends.push(frame);
  }

  /** A send was answered (ack, refusal, or a temporary error it will be retried after): its slot goes to the next one waiting. */
  private sendAnswered(c: Client): void {
    c.sendsInFlight = Math.max(0, c.sendsInFlight - 1);
    const next = c.waitingSends.shift();
    if (next !== undefined) this.transmit(c, next);
  }

  private sumErrors(): number {
    let n = 0;
    for (const v of Object.values(this.ackErrors)) n += v;
    return n;
  }

  private async handleHold(req: Extract<WorkerRequest, { type: 'hold' }>): Promise<HoldReply> {
    const t0 = now();
    const n = this.clients.length;
    let sentPings = 0;
    this.pongs = 0;
    this.pingHist = newHistogram();
    const perPing = n > 0 ? req.pingIntervalMs / n : req.durationMs;
    let k = 0;
    while (now() - t0 < req.durationMs) {
      const due = Math.floor((now() - t0) / perPing);
      while (k < due && n > 0) {
        const index = k % n;
        const c = this.clients[index]!;
        if (c.open && c.ws) {
          const ref = `p${++c.refSeq}`;
          this.pendingPings.set(`${index}:${ref}`, now());
          c.ws.send(`{"type":"ping","ref":"${ref}"}`);
          sentPings++;
        }
        k++;
      }
      await sleep(10);
    }
    await sleep(Math.min(2000, req.pingIntervalMs));
    this.pendingPings.clear();
    return { pingsSent: sentPings, pongs: this.pongs, pingHist: encodeHistogram(this.pingHist) };
  }

  private handleStats(req: Extract<WorkerRequest, { type: 'stats' }>): StatsReply {
    const cpu = process.cpuUsage();
    const reply: StatsReply = {
      received: this.received,
      latencyHist: encodeHistogram(this.latencyHist),
      synced: this.synced,
      duplicates: this.duplicates,
      outOfOrder: this.outOfOrder,
      unexpectedCloses: this.unexpectedCloses,
      closeCodes: { ...this.closeCodes },
      openClients: this.clients.filter((c) => c.open).length,
      firstReceiveAt: this.firstReceiveAt,
      lastReceiveAt: this.lastReceiveAt,
      cpuUserMs: cpu.user / 1000,
      cpuSystemMs: cpu.system / 1000,
      rssBytes: process.memoryUsage.rss(),
      maxRssBytes: process.resourceUsage().maxRSS * 1024,
      ...(req.perMessage ? { perMessage: Object.fromEntries(this.perMessage) } : {}),
    };
    if (req.reset) {
      this.latencyHist = newHistogram();
      this.received = 0;
      this.synced = 0;
      this.duplicates = 0;
      this.outOfOrder = 0;
      this.unexpectedCloses = 0;
      this.closeCodes = {};
      this.perMessage = new Map();
      this.firstReceiveAt = 0;
      this.lastReceiveAt = 0;
    }
    return reply;
  }

  private async handleStorm(req: Extract<WorkerRequest, { type: 'storm' }>): Promise<StormReply> {
    const dropAt = now();
    for (const index of req.clients) {
      const c = this.clients[index]!;
      c.expectClose = true;
      c.open = false;
      c.ws?.terminate();
      c.generation++;
    }
    const resumeHist = newHistogram();
    let resumed = 0;
    let resyncRequired = 0;
    let lastResume = dropAt;
    let syncRetries = 0;
    const resumes: Promise<void>[] = [];
    const connect = await this.connectMany(req.clients, req.ratePerSec, req.maxInflight, req.timeoutMs, async (index) => {
      const c = this.clients[index]!;
      const sendSync = () => {
        const positions = [...c.trackers].map(([cid, t]): Position => ({ conversation_id: cid, seq: t.contig, ...(t.epoch ? { epoch: t.epoch } : {}) }));
        c.ws?.send(JSON.stringify({ type: 'sync', ref: `s${++c.refSeq}`, positions } satisfies SyncFrame));
      };
      const p = new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          c.onSync = undefined;
          c.onSyncError = undefined;
          resolve();
        };
        const timer = setTimeout(done, req.timeoutMs);
        c.onSync = (resync, more) => {
          if (more && !resync) return sendSync();
          if (resync) resyncRequired++;
          else resumed++;
          const at = now();
          recordMs(resumeHist, at - dropAt);
          if (at > lastResume) lastResume = at;
          done();
        };
        // As the SDK does: a temporary refusal (overload, backend unavailable) is retried after a jittered backoff.
        let attempt = 0;
        c.onSyncError = (retry) => {
          if (!retry) return done();
          syncRetries++;
          const backoff = Math.min(200 * 2 ** attempt++, 3000);
          setTimeout(sendSync, backoff / 2 + Math.random() * backoff);
        };
      });
      resumes.push(p);
      sendSync();
    });
    await Promise.all(resumes);
    return {
      reconnected: connect.ok,
      resumed,
      resyncRequired,
      syncRetries,
      failed: connect.failed,
      failures: connect.failures,
      allResumedMs: lastResume - dropAt,
      resumeHist: encodeHistogram(resumeHist),
      perSecond: connect.perSecond,
    };
  }

  private handleExpectation(req: Extract<WorkerRequest, { type: 'expectation' }>): ExpectationReply {
    let checked = 0;
    let withGap = 0;
    let missing = 0;
    for (const c of this.clients) {
      let gap = false;
      for (const [cid, t] of c.trackers) {
        const final = req.finalSeq[cid];
        if (final === undefined) continue;
        if (t.contig < final) {
          gap = true;
          missing += final - t.contig;
        }
      }
      if (c.trackers.size > 0) checked++;
      if (gap) withGap++;
    }
    return { clientsChecked: checked, clientsWithGap: withGap, missing };
  }

  private async handleClose(): Promise<{ closed: number }> {
    let closed = 0;
    const waits: Promise<void>[] = [];
    for (const c of this.clients) {
      c.expectClose = true;
      const ws = c.ws;
      if (ws && ws.readyState === WebSocket.OPEN) {
        closed++;
        waits.push(new Promise((resolve) => ws.once('close', () => resolve())));
        ws.close(1000);
      } else ws?.terminate();
    }
    await Promise.race([Promise.all(waits), sleep(5000)]);
    for (const c of this.clients) c.ws?.terminate();
    this.clients.length = 0;
    return { closed };
  }

  async dispatch(req: WorkerRequest): Promise<WorkerReply> {
    switch (req.type) {
      case 'connect':
        return { id: req.id, type: 'connect', result: await this.handleConnect(req) };
      case 'send':
        return { id: req.id, type: 'send', result: await this.handleSend(req) };
      case 'hold':
        return { id: req.id, type: 'hold', result: await this.handleHold(req) };
      case 'stats':
        return { id: req.id, type: 'stats', result: this.handleStats(req) };
      case 'storm':
        return { id: req.id, type: 'storm', result: await this.handleStorm(req) };
      case 'expectation':
        return { id: req.id, type: 'expectation', result: this.handleExpectation(req) };
      case 'close':
        return { id: req.id, type: 'close', result: await this.handleClose() };
      default: {
        const never: never = req;
        throw new Error(`unknown request ${JSON.stringify(never)}`);
      }
    }
  }
}

const worker = new LoadWorker();
process.on('message', (req: WorkerRequest) => {
  worker.dispatch(req).then(
    (reply) => process.send?.(reply),
    (err: unknown) => process.send?.({ id: req.id, type: 'error', message: err instanceof Error ? err.message : String(err) } satisfies WorkerReply),
  );
});
process.on('disconnect', () => process.exit(0));
