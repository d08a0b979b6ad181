import type { CassandraClient } from '@chat/server/clients';

export interface Statement {
  query: string;
  params: unknown[];
}

/** Statements per coalesced batch: Cassandra warns about an unlogged batch spanning more than 10 partitions. */
const MAX_STATEMENTS = 10;
/** Bytes per coalesced batch, below Cassandra's default batch_size_warn_threshold (5 KiB). */
const MAX_BYTES = 4 * 1024;

interface Group {
  statements: Statement[];
  bytes: number;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * Sends the statement groups written in the same event-loop turn as shared unlogged batches: one
 * request instead of one per group, which costs Cassandra less than half the CPU per row (measured
 * on the sequencer's rows: 116 µs instead of 264 µs). A group is never split, so a group of one
 * partition stays atomic (Cassandra applies each partition's part of an unlogged batch as one
 * mutation); groups of different partitions share a batch without atomicity between them. A group
 * too large to share goes alone (a single-partition batch has no size limit). A failed batch fails
 * every group in it. Statements carry their own write timestamps (`USING TIMESTAMP ?`).
 */
export class CoalescingBatcher {
  private pending: Group[] = [];
  private scheduled = false;

  constructor(private readonly db: CassandraClient) {}

  /** `bytes`: approximate size of the group's values, to keep shared batches small. */
  write(statements: Statement[], bytes: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ statements, bytes, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const groups = this.pending;
    this.pending = [];
    let batch: Group[] = [];
    let statements = 0;
    let bytes = 0;
    for (const g of groups) {
      if (batch.length > 0 && (statements + g.statements.length > MAX_STATEMENTS || bytes + g.bytes > MAX_BYTES)) {
        this.send(batch);
        [batch, statements, bytes] = [[], 0, 0];
      }
      batch.push(g);
      statements += g.statements.length;
      bytes += g.bytes;
    }
    if (batch.length > 0) this.send(batch);
  }

  private send(groups: Group[]): void {
    this.db
      .batch(
        groups.flatMap((g) => g.statements),
        { prepare: true, isIdempotent: true, logged: false },
      )
      .then(
        () => groups.forEach((g) => g.resolve()),
        (err: unknown) => groups.forEach((g) => g.reject(err)),
      );
  }
}
