import type { CassandraClient } from '@chat/server/clients';
import { describe, expect, it } from 'vitest';
import { CassandraMembership } from './membership.js';

/** A Cassandra stand-in over two tables; rows come back as the driver's result sets iterate. */
function fakeDb(members: Record<string, string[]>) {
  const queries: { cql: string; params: unknown[] }[] = [];
  const db = {
    execute: async (cql: string, params: unknown[]) => {
      queries.push({ cql, params });
      if (cql.includes('FROM conversation_members')) return (members[String(params[0])] ?? []).map((user_id) => ({ user_id }));
      const users = params[0] as string[];
      return Object.entries(members).flatMap(([c, list]) => list.filter((u) => users.includes(u)).map((user_id) => ({ user_id, conversation_id: c })));
    },
  };
  return { db: db as unknown as CassandraClient, queries };
}

describe('CassandraMembership', () => {
  it('reads the conversations of users asked for in one event-loop turn with one query', async () => {
    const { db, queries } = fakeDb({ '1': ['a', 'b'], '2': ['b'] });
    const m = new CassandraMembership(db, 10_000);
    const [a, b, z] = await Promise.all([m.conversationsOf('a'), m.conversationsOf('b'), m.conversationsOf('z')]);
    expect([[...a], [...b].sort(), [...z]]).toEqual([['1'], ['1', '2'], []]);
    expect(queries).toHaveLength(1);
    expect(queries[0]!.params).toEqual([['a', 'b', 'z']]);
  });

  it('offers a loaded member list as proof for its members only, and only while it is cached', async () => {
    const { db } = fakeDb({ '7': ['a', 'b'] });
    const m = new CassandraMembership(db, 50);
    expect(m.cachedMemberListsOf('a')).toEqual([]);
    await m.membersOf('7');
    expect(m.cachedMemberListsOf('a').map((s) => [...s])).toEqual([['a', 'b']]);
    expect(m.cachedMemberListsOf('c')).toEqual([]);
    await new Promise((r) => setTimeout(r, 80));
    expect(m.cachedMemberListsOf('a')).toEqual([]);
  });
});
