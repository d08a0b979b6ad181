import type { CassandraClient } from '@chat/shared';
import { longToNumber, toLong } from './long.js';

/**
 * Ownership of one Kafka partition by one sequencer, as a generation number that only grows.
 * `acquire` takes the partition (compare-and-set, once per assignment) and returns the new
 * generation; `generation` reads the current one so a consumer notices it lost the partition.
 */
export interface SequencerLeases {
  acquire(topic: string, partition: number, owner: string): Promise<number>;
  generation(topic: string, partition: number): Promise<number>;
}

export class CassandraSequencerLeases implements SequencerLeases {
  constructor(private readonly db: CassandraClient) {}

  async generation(topic: string, partition: number): Promise<number> {
    const rs = await this.db.execute('SELECT generation FROM sequencer_leases WHERE topic = ? AND partition = ?', [topic, partition], {
      prepare: true,
      isIdempotent: true,
    });
    return longToNumber(rs.first()?.generation);
  }

  async acquire(topic: string, partition: number, owner: string): Promise<number> {
    for (;;) {
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
    }
  }
}
