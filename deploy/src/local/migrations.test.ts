import type cassandra from 'cassandra-driver';
import { describe, expect, it } from 'vitest';
import { applyMigrations, checksum, MigrationError, orderMigrationFiles, parseMigration, splitStatements } from './migrations.js';

describe('splitStatements', () => {
  it('splits on semicolons and drops comments', () => {
    const script = `-- header comment
CREATE TABLE a (id int PRIMARY KEY, kind text); -- trailing
// slash comment
/* block
   comment; with semicolon */
CREATE TABLE b (
  id int PRIMARY KEY, -- 'quoted' in a comment; still a comment
  x text
);
`;
    expect(splitStatements(script)).toEqual(['CREATE TABLE a (id int PRIMARY KEY, kind text)', 'CREATE TABLE b (\n  id int PRIMARY KEY, \n  x text\n)']);
  });

  it('keeps semicolons and comment markers inside literals, quoted identifiers and $$ blocks', () => {
    const script = `INSERT INTO t (k, v) VALUES ('a;b -- not a comment', 'it''s');
SELECT "weird;name" FROM t;
CREATE FUNCTION f (x int) RETURNS NULL ON NULL INPUT RETURNS int LANGUAGE java AS $$ return x; $$;`;
    expect(splitStatements(script)).toEqual([
      "INSERT INTO t (k, v) VALUES ('a;b -- not a comment', 'it''s')",
      'SELECT "weird;name" FROM t',
      'CREATE FUNCTION f (x int) RETURNS NULL ON NULL INPUT RETURNS int LANGUAGE java AS $$ return x; $$',
    ]);
  });

  it('accepts a last statement without semicolon and ignores empty statements', () => {
    expect(splitStatements(';;\n  \nSELECT 1 FROM t\n')).toEqual(['SELECT 1 FROM t']);
    expect(splitStatements('-- only a comment\n')).toEqual([]);
  });
});

describe('orderMigrationFiles', () => {
  it('orders numerically and ignores non-cql files', () => {
    expect(orderMigrationFiles(['10_c.cql', '002_b.cql', 'README.md', '001_a.cql'])).toEqual(['001_a.cql', '002_b.cql', '10_c.cql']);
  });
  it('rejects bad names and duplicate numbers', () => {
    expect(() => orderMigrationFiles(['init.cql'])).toThrow(MigrationError);
    expect(() => orderMigrationFiles(['001_a.cql', '1_b.cql'])).toThrow(/duplicate/);
  });
});

describe('checksum', () => {
  it('is stable across line endings and changes with content', () => {
    expect(checksum('a;\r\nb;\r\n')).toBe(checksum('a;\nb;\n'));
    expect(checksum('a;\n')).not.toBe(checksum('a; \n'));
  });
});

/** In-memory stand-in for cassandra.Client: records statements, stores schema_migrations rows. */
function fakeClient() {
  const rows = new Map<string, string>();
  const executed: string[] = [];
  const client = {
    executed,
    rows,
    async execute(query: string, params?: unknown[]) {
      executed.push(query);
      if (/^SELECT version, checksum FROM/.test(query)) {
        return { rows: [...rows].map(([version, sum]) => ({ get: (c: string) => (c === 'version' ? version : sum) })) };
      }
      if (/^INSERT INTO \w+\.schema_migrations/.test(query) && params) rows.set(String(params[0]), String(params[2]));
      if (query.includes('FAIL')) throw new Error('boom');
      return { rows: [] };
    },
  };
  return client;
}

describe('applyMigrations (fake client)', () => {
  const m1 = parseMigration('001_a.cql', 'CREATE TABLE IF NOT EXISTS a (id int PRIMARY KEY);\nCREATE TABLE IF NOT EXISTS b (id int PRIMARY KEY);\n');
  const m2 = parseMigration('002_b.cql', 'CREATE TABLE IF NOT EXISTS c (id int PRIMARY KEY);\n');

  it('creates the keyspace, applies in order once, then is a no-op', async () => {
    const c = fakeClient();
    const first = await applyMigrations(c as unknown as cassandra.Client, { keyspace: 'ks_t', replicationFactor: 3, migrations: [m1, m2] });
    expect(first).toEqual({ applied: ['001_a.cql', '002_b.cql'], alreadyApplied: [] });
    expect(c.executed[0]).toContain("CREATE KEYSPACE IF NOT EXISTS ks_t WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 3}");
    expect(c.executed[1]).toBe('USE ks_t');
    expect(c.executed.filter((q) => q.startsWith('CREATE TABLE IF NOT EXISTS') && !q.includes('schema_migrations'))).toEqual([
      'CREATE TABLE IF NOT EXISTS a (id int PRIMARY KEY)',
      'CREATE TABLE IF NOT EXISTS b (id int PRIMARY KEY)',
      'CREATE TABLE IF NOT EXISTS c (id int PRIMARY KEY)',
    ]);
    const before = c.executed.length;
    const second = await applyMigrations(c as unknown as cassandra.Client, { keyspace: 'ks_t', migrations: [m1, m2] });
    expect(second).toEqual({ applied: [], alreadyApplied: ['001_a.cql', '002_b.cql'] });
    expect(c.executed.slice(before).some((q) => q.startsWith('CREATE TABLE IF NOT EXISTS a'))).toBe(false);
  });

  it('refuses an applied migration whose content changed', async () => {
    const c = fakeClient();
    await applyMigrations(c as unknown as cassandra.Client, { keyspace: 'ks_t', migrations: [m1] });
    const edited = parseMigration('001_a.cql', 'CREATE TABLE IF NOT EXISTS a (id int PRIMARY KEY, x text);\n');
    await expect(applyMigrations(c as unknown as cassandra.Client, { keyspace: 'ks_t', migrations: [edited, m2] })).rejects.toThrow(
      /checksum mismatch.*001_a\.cql/,
    );
    expect(c.rows.has('002_b.cql')).toBe(false);
  });

  it('does not record a migration whose statement failed', async () => {
    const c = fakeClient();
    const bad = parseMigration('003_bad.cql', 'CREATE TABLE IF NOT EXISTS ok (id int PRIMARY KEY);\nFAIL;\n');
    await expect(applyMigrations(c as unknown as cassandra.Client, { keyspace: 'ks_t', migrations: [m1, bad] })).rejects.toThrow(
      /003_bad\.cql: statement 2 failed/,
    );
    expect([...c.rows.keys()]).toEqual(['001_a.cql']);
  });

  it('validates the keyspace name', async () => {
    await expect(applyMigrations(fakeClient() as unknown as cassandra.Client, { keyspace: 'bad-name; DROP', migrations: [] })).rejects.toThrow(
      /invalid keyspace/,
    );
  });
});
