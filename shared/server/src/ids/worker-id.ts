import { performance } from 'node:perf_hooks';
import type { Redis } from 'ioredis';
import { ChatError, Errors } from '@chat/protocol';
import { RedisKeys } from '../redis/keys.js';
import { RedisScript } from '../redis/script.js';

/**
 * A leased Snowflake worker id that the process may use only while it can prove it holds it.
 *
 * Contract: `current()` returns an id no other process is minting with at this moment, or throws
 * a retriable UNAVAILABLE ChatError. Proof is a renewal that found the lease's unique token still
 * in Redis (compare-and-set); it is good for `validityMs` from when the renewal was sent. A lease
 * found taken or gone (Redis lost its data, or the process paused past the key's TTL) is dropped
 * and a NEW id is leased; an id is used only `validityMs` after it was taken, by which time any
 * process that held it before can no longer prove it does (so even after a Redis data loss, two
 * processes never mint with one id at once, as long as their clocks run at the same rate).
 */
export interface WorkerIdLease {
  /** The id to mint with now; throws UNAVAILABLE (retriable) while none is proven. */
  current(): number;
  /** The id most recently leased (for logs), proven or not. */
  readonly workerId: number;
  /** Resolves once an id is usable. */
  ready(): Promise<void>;
  release(): Promise<void>;
}

export interface WorkerIdOptions {
  /** REDIS_KEY_PREFIX. */
  prefix: string;
  /** TTL of the lease key; a crashed process's id frees up after it. @default 30000 */
  ttlMs?: number;
  /** How often the lease is renewed. @default 1000 */
  renewMs?: number;
  /** How long a successful renewal (or acquisition) proves the lease; must exceed renewMs. @default 3000 */
  validityMs?: number;
  /** Called when the lease was lost and when a new one is taken. */
  onChange?: (event: { lost?: number; leased?: number }) => void;
}

const WORKER_IDS = 1024;
/** Renews only if the key still holds our token (a blind EXPIRE would extend someone else's lease). */
const RENEW = new RedisScript<number>(
  'chatWorkerIdRenew',
  1,
  "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end",
);
const RELEASE = new RedisScript<number>(
  'chatWorkerIdRelease',
  1,
  "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end",
);

class RedisWorkerIdLease implements WorkerIdLease {
  private held: { id: number; usableFrom: number; validUntil: number } | null = null;
  private lastId = -1;
  private readonly token = `${process.pid}:${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`;
  private readonly timer: NodeJS.Timeout;
  private acquiring: Promise<void> | null = null;
  private renewing = false;
  private released = false;

  private readonly keys: RedisKeys;

  constructor(
    private readonly redis: Redis,
    private readonly opts: Required<WorkerIdOptions>,
  ) {
    this.keys = new RedisKeys(opts.prefix);
    this.timer = setInterval(() => void this.renew(), opts.renewMs);
    this.timer.unref();
  }

  get workerId(): number {
    return this.lastId;
  }

  current(): number {
    const now = performance.now();
    const h = this.held;
    if (h && now >= h.usableFrom && now < h.validUntil) return h.id;
    if (!h && !this.acquiring && !this.released) void this.acquire();
    throw new ChatError(Errors.UNAVAILABLE, 'message ids unavailable: worker id lease not proven; retry');
  }

  async ready(): Promise<void> {
    while (!this.released) {
      if (this.acquiring) await this.acquiring;
      const h = this.held;
      if (!h) {
        await this.acquire();
        continue;
      }
      const now = performance.now();
      if (now >= h.usableFrom && now < h.validUntil) return;
      // Quarantine not over yet, or the proof lapsed and the next renewal will tell.
      await new Promise((r) => setTimeout(r, Math.max(1, Math.min(h.usableFrom - now, this.opts.renewMs)) + 1));
    }
  }

  acquire(exclude = -1): Promise<void> {
    this.acquiring ??= this.take(exclude).finally(() => (this.acquiring = null));
    return this.acquiring;
  }

  private async take(exclude: number): Promise<void> {
    for (let attempt = 0; !this.released; attempt++) {
      try {
        for (let tried = 0; tried < WORKER_IDS; tried++) {
          const id = (await this.redis.incr(this.keys.workerIdCounter())) % WORKER_IDS;
          if (id === exclude) continue;
          const sent = performance.now();
          if ((await this.redis.set(this.key(id), this.token, 'PX', this.opts.ttlMs, 'NX')) !== 'OK') continue;
          const now = performance.now();
          // Whoever held this id before can prove it for at most validityMs after our SET: wait that out.
          this.held = { id, usableFrom: now + this.opts.validityMs, validUntil: sent + this.opts.validityMs };
          this.lastId = id;
          this.opts.onChange({ leased: id });
          return;
        }
        throw new Error('no free worker id: 1024 live processes hold them all');
      } catch {
        await new Promise((r) => setTimeout(r, Math.min(100 * 2 ** attempt, 2000) * Math.random()));
      }
    }
  }

  private key(id: number): string {
    return this.keys.workerIdClaim(id);
  }

  private async renew(): Promise<void> {
    const h = this.held;
    if (!h || this.renewing || this.released) return;
    this.renewing = true;
    try {
      const sent = performance.now();
      const ok = (await RENEW.run(this.redis, [this.key(h.id)], [this.token, String(this.opts.ttlMs)])) === 1;
      if (this.held !== h) return;
      if (ok) {
        // The usable-from wait still applies; the proof now runs from this renewal.
        h.validUntil = Math.max(h.validUntil, sent + this.opts.validityMs);
      } else {
        this.held = null;
        this.opts.onChange({ lost: h.id });
        void this.acquire(h.id);
      }
    } catch {
      // Redis unreachable: the proof lapses at validUntil and minting stops until a renewal succeeds.
    } finally {
      this.renewing = false;
    }
  }

  async release(): Promise<void> {
    this.released = true;
    clearInterval(this.timer);
    const h = this.held;
    this.held = null;
    if (h) await RELEASE.run(this.redis, [this.key(h.id)], [this.token]);
  }
}

/**
 * Leases a Snowflake worker id (0..1023) unique among live processes: a Redis key per id, taken
 * with SET NX under a unique token and renewed with a compare-and-set while the process lives.
 * Ids are tried round-robin from a shared counter. Resolves once the id is usable.
 */
export async function leaseWorkerId(redis: Redis, options: WorkerIdOptions): Promise<WorkerIdLease> {
  const opts: Required<WorkerIdOptions> = { ttlMs: 30_000, renewMs: 1000, validityMs: 3000, onChange: () => undefined, ...options };
  if (opts.validityMs <= opts.renewMs || opts.ttlMs <= opts.validityMs) throw new RangeError('worker id lease: need renewMs < validityMs < ttlMs');
  const lease = new RedisWorkerIdLease(redis, opts);
  await lease.acquire();
  return lease;
}
