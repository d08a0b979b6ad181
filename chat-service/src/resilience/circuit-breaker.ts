export interface CircuitBreakerOptions {
  /** Consecutive failures that open the circuit. @default 5 */
  failureThreshold?: number;
  /** How long an open circuit refuses calls before it lets one probe through. @default 2000 */
  cooldownMs?: number;
  /**
   * A call still running after this long counts as a failure if the dependency completed no call
   * since it started (a hung dependency fails slowly; a busy one is not hung). @default 2000
   */
  slowCallMs?: number;
  /** Clock, for tests. @default Date.now */
  now?: () => number;
}

export type CircuitState = 'closed' | 'open' | 'half-open';

/**
 * Fail fast while a dependency is down. Closed: everything passes; `failureThreshold` consecutive
 * failures open it. Open: `allows()` is false for `cooldownMs`; then one caller gets the probe
 * (`tryAcquire()` true, state half-open) and everyone else is still refused until the probe
 * reports: success closes the circuit, failure opens it for another cool-down.
 * Only infrastructure failures should be reported; a refused request (not a member, bad input)
 * is a success of the dependency.
 */
export class CircuitBreaker {
  private readonly opts: Required<CircuitBreakerOptions>;
  private failures = 0;
  private openedAt: number | undefined;
  private probing = false;
  /** When a call last succeeded (opts.now()). */
  private lastSuccessAt = Number.NEGATIVE_INFINITY;

  constructor(
    readonly name: string,
    options: CircuitBreakerOptions = {},
    private readonly onChange: (state: CircuitState, name: string) => void = () => undefined,
  ) {
    this.opts = { failureThreshold: 5, cooldownMs: 2000, slowCallMs: 2000, now: Date.now, ...options };
  }

  get state(): CircuitState {
    if (this.openedAt === undefined) return 'closed';
    return this.probing || this.opts.now() - this.openedAt >= this.opts.cooldownMs ? 'half-open' : 'open';
  }

  /** Whether a call could go through now (closed, or cooled down with no probe out). Does not take the probe. */
  allows(): boolean {
    return this.openedAt === undefined || (!this.probing && this.opts.now() - this.openedAt >= this.opts.cooldownMs);
  }

  /** Whether this call may go through; after a cool-down the first caller takes the probe. */
  tryAcquire(): boolean {
    if (this.openedAt === undefined) return true;
    if (!this.allows()) return false;
    this.probing = true;
    this.onChange('half-open', this.name);
    return true;
  }

  success(): void {
    this.lastSuccessAt = this.opts.now();
    this.failures = 0;
    this.probing = false;
    if (this.openedAt !== undefined) {
      this.openedAt = undefined;
      this.onChange('closed', this.name);
    }
  }

  failure(): void {
    this.failures++;
    const wasProbe = this.probing;
    this.probing = false;
    if (wasProbe || (this.openedAt === undefined && this.failures >= this.opts.failureThreshold)) {
      this.openedAt = this.opts.now();
      this.onChange('open', this.name);
    }
  }

  /**
   * Runs `call` through the breaker: refused at once with `refusal()` while open; failures for
   * which `counts(err)` is true are reported (others, like a refused request, count as success).
   * A call still running after `slowCallMs`, with no call succeeding since it started, is reported
   * as a failure then (it still completes; its outcome is not reported again).
   */
  async run<T>(call: () => Promise<T>, counts: (err: unknown) => boolean, refusal: () => Error): Promise<T> {
    if (!this.tryAcquire()) throw refusal();
    let reported = false;
    const report = (ok: boolean) => {
      if (reported) return;
      reported = true;
      if (ok) this.success();
      else this.failure();
    };
    const startedAt = this.opts.now();
    // Judged after the replies already received are handled (timers run before I/O callbacks):
    // calls started together, or answered while the event loop was busy, are late together, and
    // counting them as failures opened the circuit of a dependency that was answering.
    const slow = setTimeout(
      () =>
        setImmediate(() => {
          if (this.lastSuccessAt < startedAt) report(false);
        }),
      this.opts.slowCallMs,
    );
    try {
      const result = await call();
      report(true);
      return result;
    } catch (err) {
      report(!counts(err));
      throw err;
    } finally {
      clearTimeout(slow);
    }
  }
}
