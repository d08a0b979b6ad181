import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveEndpoints } from '../src/local/config.js';
import { applyMigrations, loadMigrations, MigrationError } from '../src/local/migrations.js';
import { resolvePaths } from '../src/local/paths.js';
import { cassandraClient } from '../src/local/readiness.js';

// Needs the running infrastructure (npm test / npm run infra -- up): CASSANDRA_CONTACT_POINTS etc.
const e = resolveEndpoints();
const keyspace = `it_migr_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
const dir = mkdtempSync(join(tmpdir(), 'chat-migrations-'));
const client = cassandraClient(e.cassandraContactPoints, e.cassandraLocalDc);

beforeAll(async () => {
  await client.connect();
});

afterAll(async () => {
  await client.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`).catch(() => undefined);
  await client.shutdown();
  rmSync(dir, { recursive: true, force: true });
});

describe('Cassandra migration runner (real Cassandra)', () => {
  it('applies files once, in order; a second run is a no-op; an edited file is refused', async () => {
    writeFileSync(
      join(dir, '001_first.cql'),
      "-- a table\nCREATE TABLE IF NOT EXISTS t1 (id int PRIMARY KEY, v text);\nINSERT INTO t1 (id, v) VALUES (1, 'one;1');\n",
    );
    writeFileSync(join(dir, '002_second.cql'), 'ALTER TABLE t1 ADD w int;\nCREATE TABLE IF NOT EXISTS t2 (id int PRIMARY KEY);\n');

    const first = await applyMigrations(client, { keyspace, replicationFactor: 1, dir });
    expect(first).toEqual({ applied: ['001_first.cql', '002_second.cql'], alreadyApplied: [] });
    const row = (await client.execute(`SELECT v, w FROM ${keyspace}.t1 WHERE id = 1`)).first();
    expect(row?.get('v')).toBe('one;1');
    expect(row?.get('w')).toBeNull();

    // ALTER TABLE ... ADD is not idempotent: a re-run would fail, so this also proves nothing re-ran.
    const second = await applyMigrations(client, { keyspace, dir });
    expect(second).toEqual({ applied: [], alreadyApplied: ['001_first.cql', '002_second.cql'] });
    const recorded = await client.execute(`SELECT version, checksum, applied_at FROM ${keyspace}.schema_migrations`);
    expect(recorded.rows.map((r) => r.get('version')).sort()).toEqual(['001_first.cql', '002_second.cql']);

    writeFileSync(join(dir, '002_second.cql'), 'ALTER TABLE t1 ADD w bigint;\n');
    writeFileSync(join(dir, '003_third.cql'), 'CREATE TABLE IF NOT EXISTS t3 (id int PRIMARY KEY);\n');
    await expect(applyMigrations(client, { keyspace, dir })).rejects.toThrow(MigrationError);
    await expect(applyMigrations(client, { keyspace, dir })).rejects.toThrow(/checksum mismatch.*002_second\.cql/);
    const t3 = await client.execute('SELECT table_name FROM system_schema.tables WHERE keyspace_name = ? AND table_name = ?', [keyspace, 't3']);
    expect(t3.rowLength).toBe(0);
  });

  it('the repository migrations apply cleanly to a fresh keyspace, twice', async () => {
    const ks = `${keyspace}_repo`;
    try {
      const migrations = loadMigrations(resolvePaths().migrationsDir);
      const first = await applyMigrations(client, { keyspace: ks, migrations });
      expect(first.applied).toEqual(migrations.map((m) => m.version));
      const second = await applyMigrations(client, { keyspace: ks, migrations });
      expect(second.applied).toEqual([]);
    } finally {
      await client.execute(`DROP KEYSPACE IF EXISTS ${ks}`).catch(() => undefined);
    }
  });
});
