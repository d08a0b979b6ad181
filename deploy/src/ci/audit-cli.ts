import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { classifyAudit, parseExceptions, reportVerdict } from './dependency-audit.js';

/**
 * CI step: `npm audit --omit=dev --audit-level=high` over the production dependency tree, run from
 * the repository root. Exits 1 for high/critical advisories that are not documented exceptions and
 * when npm fails for a reason of ours; an advisory endpoint that refuses or cannot be reached prints
 * a notice and exits 0 (see dependency-audit.ts).
 */
const root = process.cwd();
const exceptionsFile = join(root, '.ci', 'audit-exceptions.json');
const exceptions = existsSync(exceptionsFile) ? parseExceptions(readFileSync(exceptionsFile, 'utf8')) : [];

const run = spawnSync('npm', ['audit', '--omit=dev', '--audit-level=high', '--json'], {
  cwd: root,
  encoding: 'utf8',
  timeout: 120_000,
  maxBuffer: 64 * 1024 * 1024,
});
const verdict =
  run.error !== undefined ? { kind: 'failed' as const, reason: `npm audit did not run: ${run.error.message}` } : classifyAudit(run.stdout, exceptions);
const { lines, exitCode } = reportVerdict(verdict);
for (const line of lines) process.stdout.write(`${line}\n`);
process.exit(exitCode);
