import cassandra from 'cassandra-driver';
import type { CassandraClient } from '@chat/server/clients';
import { longToNumber, toLong } from './long.js';

/**
 * Ownership of one Kafka partition by one sequencer, as a generation number that only grows.
 * `acquire` takes the partition (compare-and-set, once per assignment) and returns the new
 * generation; `generation` reads the current one (linearizable with `acquire`) so a consumer
 * notices it lost the partition. The generation identifies an owner; write ordering between
 * owners comes from LeaseClock, not from the generation's size.
 */
export interface SequencerLeases {
  acquire(topic: string, partition: number, owner: string): Promise<number>;
  generation(topic: string, partition: number): Promise<number>;
}

export interface LeaseOptions {
  /** Compare-and-set attempts before `acquire` gives up (the consumer retries later). @default 20 */
  maxAttempts?: number;
  /** Backoff between contended attempts: full jitter over min(base·2^n, cap) ms. @default 50 / 2000 */
  backoffBaseMs?: number;
  backoffCapMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

export class CassandraSequencerLeases implements SequencerLeases {
  private readonly opts: Required<LeaseOptions>;

  constructor(
    private readonly db: CassandraClient,
    options: LeaseOptions = {},
  ) {
    this.opts = { maxAttempts: 20, backoffBaseMs: 50, backoffCapMs: 2000, sleep: (ms) => new Promise((r) => setTimeout(r, ms)), ...options };
  }

  async generation(topic: string, partition: number): Promise<number> {
    // SERIAL: sees every compare-and-set that completed before the read (a QUORUM read could miss an in-progress one).
    const rs = await this.db.execute('SELECT generation FROM sequencer_leases WHERE topic = ? AND partition = ?', [topic, partition], {
      prepare: true,
      isIdempotent: true,
      consistency: cassandra.types.consistencies.serial,
    });
    return longToNumber(rs.first()?.generation);
  }

  async acquire(topic: string, partition: number, owner: string): Promise<number> {
    for (let attempt = 1; ; attempt++) {
      const current = await this.generation(topic, partition);
      const next = current + 1;
      const rs =
        current === 0
          ? await this.db.execute(
              'INSERT INTO sequencer_leases (topic, partition, generation, owner, acquired_at) VALUES (?, ?, ?, ?, ?) IF NOT EXISTS',
              [topic, partition, toLong(String(next)), owner, new Date()],
              { prepare: true },
            )
          : await this.db.execute(
              'UPDATE sequencer_leases SET generation = ?, owner = ?, acquired_at = ? WHERE topic = ? AND partition = ? IF generation = ?',
              [toLong(String(next)), owner, new Date(), topic, partition, toLong(String(current))],
              { prepare: true },
            );
      if (rs.wasApplied()) return next;
      // Contended: another consumer is taking it too. Back off instead of spinning on Paxos rounds.
      if (attempt >= this.opts.maxAttempts) throw new Error(`partition ${partition} lease contended ${attempt} times`);
      await this.opts.sleep(Math.random() * Math.min(this.opts.backoffBaseMs * 2 ** attempt, this.opts.backoffCapMs));
    }
  }
}
