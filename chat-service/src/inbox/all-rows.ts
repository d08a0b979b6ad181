import type { CassandraClient } from '@chat/server/clients';

/** Every row of a (single-partition) query, fetched page by page. */
export async function allRows(db: CassandraClient, query: string, params: unknown[]): Promise<Record<string, unknown>[]> {
  const rows: Record<string, unknown>[] = [];
  let pageState: string | undefined;
  do {
    const rs = await db.execute(query, params, { prepare: true, isIdempotent: true, fetchSize: 1000, ...(pageState ? { pageState } : {}) });
    rows.push(...(rs.rows as unknown as Record<string, unknown>[]));
    pageState = rs.pageState ?? undefined;
  } while (pageState);
  return rows;
}
