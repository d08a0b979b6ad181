import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import cassandra from 'cassandra-driver';

export interface Migration {
  /** File name, e.g. `001_init.cql`; the tracking key. */
  version: string;
  checksum: string;
  statements: string[];
}

export interface MigrationOptions {
  keyspace: string;
  replicationFactor?: number;
  /** Directory of `NNN_name.cql` files (default: read by the caller via loadMigrations). */
  dir?: string;
  /** Pre-loaded migrations (takes precedence over `dir`). */
  migrations?: Migration[];
  log?: (msg: string) => void;
}

export interface MigrationResult {
  applied: string[];
  alreadyApplied: string[];
}

export class MigrationError extends Error {}

const FILE_RE = /^(\d+)_[A-Za-z0-9_.-]+\.cql$/;
const KEYSPACE_RE = /^[A-Za-z][A-Za-z0-9_]{0,47}$/;

/**
 * Split a CQL script into statements at `;` outside string literals, quoted identifiers,
 * `$$` blocks and comments. `--` / `//` line comments and `/* *\/` block comments are dropped.
 */
export function splitStatements(script: string): string[] {
  const out: string[] = [];
  let cur = '';
  let i = 0;
  const n = script.length;
  while (i < n) {
    const c = script[i]!;
    const next = script[i + 1];
    if ((c === '-' && next === '-') || (c === '/' && next === '/')) {
      while (i < n && script[i] !== '\n') i++;
      continue;
    }
    if (c === '/' && next === '*') {
      const end = script.indexOf('*/', i + 2);
      i = end < 0 ? n : end + 2;
      cur += ' ';
      continue;
    }
    if (c === '$' && next === '$') {
      const end = script.indexOf('$$', i + 2);
      const stop = end < 0 ? n : end + 2;
      cur += script.slice(i, stop);
      i = stop;
      continue;
    }
    if (c === "'" || c === '"') {
      // '' inside a literal is an escaped quote: scanning pairs handles it naturally.
      let j = i + 1;
      while (j < n && script[j] !== c) j++;
      cur += script.slice(i, j + 1);
      i = j + 1;
      continue;
    }
    if (c === ';') {
      const s = cur.trim();
      if (s) out.push(s);
      cur = '';
      i++;
      continue;
    }
    cur += c;
    i++;
  }
  const rest = cur.trim();
  if (rest) out.push(rest);
  return out;
}

export function checksum(script: string): string {
  return createHash('sha256').update(script.replace(/\r\n/g, '\n')).digest('hex');
}

export function parseMigration(version: string, script: string): Migration {
  return { version, checksum: checksum(script), statements: splitStatements(script) };
}

/** Ordered by numeric prefix; rejects malformed names and duplicate prefixes. */
export function orderMigrationFiles(files: string[]): string[] {
  const cql = files.filter((f) => f.endsWith('.cql'));
  for (const f of cql) if (!FILE_RE.test(f)) throw new MigrationError(`migration file name must look like 001_name.cql: ${f}`);
  const num = (f: string) => BigInt(FILE_RE.exec(f)![1]!);
  const sorted = [...cql].sort((a, b) => (num(a) < num(b) ? -1 : num(a) > num(b) ? 1 : a < b ? -1 : 1));
  for (let k = 1; k < sorted.length; k++) {
    if (num(sorted[k]!) === num(sorted[k - 1]!)) throw new MigrationError(`duplicate migration number: ${sorted[k - 1]} and ${sorted[k]}`);
  }
  return sorted;
}

export function loadMigrations(dir: string): Migration[] {
  let files: string[];
  try {
    files = readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  return orderMigrationFiles(files).map((f) => parseMigration(f, readFileSync(join(dir, f), 'utf8')));
}

/**
 * Create the keyspace (SimpleStrategy) and `schema_migrations`, then apply each migration not yet
 * recorded, in order, with the keyspace selected (`USE`: the client's keyspace is switched to
 * `opts.keyspace`). A recorded migration whose checksum changed is an error: write a new file.
 * Statements should be idempotent (`IF NOT EXISTS`): Cassandra DDL is not transactional, so a
 * file that failed half-way is re-run from its first statement.
 */
export async function applyMigrations(client: cassandra.Client, opts: MigrationOptions): Promise<MigrationResult> {
  const { keyspace } = opts;
  const log = opts.log ?? (() => undefined);
  if (!KEYSPACE_RE.test(keyspace)) throw new MigrationError(`invalid keyspace name ${JSON.stringify(keyspace)}`);
  const rf = opts.replicationFactor ?? 1;
  if (!Number.isInteger(rf) || rf < 1) throw new MigrationError(`invalid replication factor ${rf}`);
  const migrations = opts.migrations ?? (opts.dir ? loadMigrations(opts.dir) : []);

  await client.execute(`CREATE KEYSPACE IF NOT EXISTS ${keyspace} WITH replication = {'class': 'SimpleStrategy', 'replication_factor': ${rf}}`);
  await client.execute(`USE ${keyspace}`);
  await client.execute(`CREATE TABLE IF NOT EXISTS ${keyspace}.schema_migrations (version text PRIMARY KEY, applied_at timestamp, checksum text)`);

  const rs = await client.execute(`SELECT version, checksum FROM ${keyspace}.schema_migrations`, [], { consistency: cassandra.types.consistencies.quorum });
  const recorded = new Map<string, string>(rs.rows.map((r) => [String(r.get('version')), String(r.get('checksum'))]));

  const changed = migrations.filter((m) => recorded.has(m.version) && recorded.get(m.version) !== m.checksum);
  if (changed.length > 0) {
    throw new MigrationError(
      `checksum mismatch for already applied migration(s) in keyspace ${keyspace}: ${changed.map((m) => m.version).join(', ')} — ` +
        'applied migrations must not be edited; add a new numbered file instead',
    );
  }
  for (const v of recorded.keys()) {
    if (!migrations.some((m) => m.version === v)) log(`warning: migration ${v} is recorded in ${keyspace}.schema_migrations but no longer on disk`);
  }

  const result: MigrationResult = { applied: [], alreadyApplied: [] };
  for (const m of migrations) {
    if (recorded.has(m.version)) {
      result.alreadyApplied.push(m.version);
      continue;
    }
    for (const [k, stmt] of m.statements.entries()) {
      try {
        await client.execute(stmt);
      } catch (err) {
        throw new MigrationError(`${m.version}: statement ${k + 1} failed: ${(err as Error).message}\n  ${stmt.split('\n').join('\n  ')}`);
      }
    }
    await client.execute(`INSERT INTO ${keyspace}.schema_migrations (version, applied_at, checksum) VALUES (?, ?, ?)`, [m.version, new Date(), m.checksum], {
      prepare: true,
      consistency: cassandra.types.consistencies.quorum,
    });
    log(`applied migration ${m.version} (${m.statements.length} statement${m.statements.length === 1 ? '' : 's'})`);
    result.applied.push(m.version);
  }
  return result;
}
