import { OwnershipLostError } from './sequencer.js';

export interface LeaseClockOptions {
  /** How long a confirmation of the lease lets its owner write. @default 2000 */
  validityMs?: number;
  /** Largest clock offset between sequencer hosts this scheme tolerates. @default 500 */
  maxClockSkewMs?: number;
  /** Wall clock in ms. @default Date.now */
  now?: () => number;
}

/**
 * Write timestamps for one partition owner (one lease generation), bounded by real time.
 *
 * Rule: an owner writes only with timestamps ≤ its last lease confirmation + validityMs (it must
 * re-confirm, i.e. read its generation back, to go further), and a new owner writes nothing until
 * validityMs + maxClockSkewMs after it took the lease. Every write of an earlier owner therefore
 * carries a smaller timestamp than any write of the new one (its last confirmation came before
 * the takeover), so a deposed owner can never overwrite the new one, whatever the number of
 * takeovers. Timestamps are max(now, last + 1) µs: close to real time, so an ordinary CQL delete
 * or update issued after a write supersedes it (generation-shifted timestamps did not).
 */
export class LeaseClock {
  private readonly validityMs: number;
  private readonly now: () => number;
  /** Wall time before the last successful confirmation was sent. */
  private confirmedAt: number;
  /** First moment this owner may write (ms). */
  readonly usableAt: number;
  private lastMicros = 0n;

  /** `acquiredSentAt`: wall time before the lease's compare-and-set was sent; `acquiredAt`: after it returned. */
  constructor(acquiredSentAt: number, acquiredAt: number, options: LeaseClockOptions = {}) {
    this.validityMs = options.validityMs ?? 2000;
    this.now = options.now ?? Date.now;
    this.confirmedAt = acquiredSentAt;
    this.usableAt = acquiredAt + this.validityMs + (options.maxClockSkewMs ?? 500);
  }

  /** Records a successful read of our generation that was sent at `sentAt`. */
  confirm(sentAt: number): void {
    this.confirmedAt = Math.max(this.confirmedAt, sentAt);
  }

  /** Whether a write now would need a fresh confirmation first. */
  needsConfirmation(marginMs = 0): boolean {
    return this.now() + marginMs >= this.confirmedAt + this.validityMs;
  }

  /** The timestamp (µs) for the next write; throws OwnershipLostError when the lease is not proven for it. */
  next(): bigint {
    const now = this.now();
    if (now < this.usableAt) throw new OwnershipLostError('partition lease not usable yet');
    const micros = BigInt(now) * 1000n;
    const ts = micros > this.lastMicros ? micros : this.lastMicros + 1n;
    if (ts >= BigInt(this.confirmedAt + this.validityMs) * 1000n) throw new OwnershipLostError('partition lease not confirmed recently enough to write');
    this.lastMicros = ts;
    return ts;
  }
}
