import type { CassandraClient } from '@chat/server/clients';
import { describe, expect, it } from 'vitest';
import { CoalescingBatcher, type Statement } from './coalescing-batcher.js';

const stmt = (q: string): Statement => ({ query: q, params: [] });

/** A client that records every batch it is sent and fails those containing a statement named 'bad'. */
function recordingClient() {
  const batches: string[][] = [];
  const db = {
    batch: async (statements: Statement[]) => {
      batches.push(statements.map((s) => s.query));
      if (statements.some((s) => s.query === 'bad')) throw new Error('batch refused');
    },
  } as unknown as CassandraClient;
  return { db, batches };
}

describe('CoalescingBatcher', () => {
  it('shares requests between the groups written in one turn, never splitting a group', async () => {
    const { db, batches } = recordingClient();
    const batcher = new CoalescingBatcher(db);
    const groups = [['a1', 'a2', 'a3'], ['b1'], ['c1', 'c2', 'c3', 'c4', 'c5', 'c6'], ['d1', 'd2'], ['e1']];
    await Promise.all(groups.map((g) => batcher.write(g.map(stmt), 10)));
    expect(batches).toEqual([
      ['a1', 'a2', 'a3', 'b1', 'c1', 'c2', 'c3', 'c4', 'c5', 'c6'],
      ['d1', 'd2', 'e1'],
    ]);
  });

  it('keeps shared batches small in bytes; a group too large to share goes alone', async () => {
    const { db, batches } = recordingClient();
    const batcher = new CoalescingBatcher(db);
    await Promise.all([batcher.write([stmt('small')], 100), batcher.write([stmt('big1'), stmt('big2')], 50_000), batcher.write([stmt('after')], 100)]);
    expect(batches).toEqual([['small'], ['big1', 'big2'], ['after']]);
  });

  it('fails exactly the groups of a failed batch', async () => {
    const { db } = recordingClient();
    const batcher = new CoalescingBatcher(db);
    const writes = [['x'], ['bad'], ['y', 'z', 'w', 'v', 'u', 't', 's', 'r', 'q'], ['later']].map((g) => batcher.write(g.map(stmt), 10));
    const outcome = await Promise.allSettled(writes);
    // x and bad share the first batch; the nine-statement group does not fit beside them.
    expect(outcome.map((o) => o.status)).toEqual(['rejected', 'rejected', 'fulfilled', 'fulfilled']);
  });
});
