/** One dependency a process needs to serve: `probe` resolves when it answers, rejects otherwise. */
export interface DependencyCheck {
  /** Shown in the /readyz body: kafka, redis, cassandra. */
  readonly name: string;
  probe(): Promise<void>;
}

export interface ReadinessOptions {
  /**
   * A probe not answered within this long counts as failed.
   * @default 2000
   */
  timeoutMs?: number;
  /**
   * A probe result is reused this long, so frequent /readyz requests cost one probe per dependency.
   * @default 1000
   */
  cacheMs?: number;
}

export interface ReadinessReport {
  /** 200 when every dependency answered and the process is not draining, else 503. */
  httpStatus: 200 | 503;
  body: { status: 'ready' | 'unready' | 'draining'; checks: Record<string, 'ok' | 'failed' | 'timeout'> };
}

type Outcome = 'ok' | 'failed' | 'timeout';

/**
 * What /readyz answers: ready when every dependency the process uses answers its probe, 503 while
 * any does not or once draining started (so a load balancer stops sending before the process
 * closes). Probes run at most once per `cacheMs` and one at a time per dependency, so a flood of
 * /readyz requests never adds load on a struggling dependency. Never throws.
 */
export class Readiness {
  private readonly opts: Required<ReadinessOptions>;
  private draining = false;
  private readonly last = new Map<string, { at: number; outcome: Promise<Outcome> }>();

  constructor(
    private readonly checks: readonly DependencyCheck[],
    options: ReadinessOptions = {},
  ) {
    this.opts = { timeoutMs: options.timeoutMs ?? 2000, cacheMs: options.cacheMs ?? 1000 };
  }

  /** From now on /readyz answers 503 "draining" (SIGTERM received). */
  startDraining(): void {
    this.draining = true;
  }

  isDraining(): boolean {
    return this.draining;
  }

  async report(): Promise<ReadinessReport> {
    const outcomes = await Promise.all(this.checks.map(async (c) => [c.name, await this.outcomeOf(c)] as const));
    const checks = Object.fromEntries(outcomes);
    const ok = outcomes.every(([, o]) => o === 'ok');
    const status = this.draining ? 'draining' : ok ? 'ready' : 'unready';
    return { httpStatus: status === 'ready' ? 200 : 503, body: { status, checks } };
  }

  private outcomeOf(check: DependencyCheck): Promise<Outcome> {
    const now = Date.now();
    const cached = this.last.get(check.name);
    if (cached && now - cached.at < this.opts.cacheMs) return cached.outcome;
    const outcome = probeWithin(check, this.opts.timeoutMs);
    this.last.set(check.name, { at: now, outcome });
    return outcome;
  }
}

function probeWithin(check: DependencyCheck, timeoutMs: number): Promise<Outcome> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve('timeout'), timeoutMs);
    check.probe().then(
      () => {
        clearTimeout(timer);
        resolve('ok');
      },
      () => {
        clearTimeout(timer);
        resolve('failed');
      },
    );
  });
}
