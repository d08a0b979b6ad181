/**
 * Reads the JSON report of `npm audit --omit=dev --audit-level=high --json` and decides what CI
 * does with it. Outcomes, never confused: the audit ran and found nothing at high/critical (pass);
 * it ran and found something not excepted (fail); the advisory endpoint refused or was unreachable
 * (a notice, and CI goes on without calling it clean); npm failed for another reason, e.g. no
 * lockfile (fail: that is this repository's problem, not the endpoint's).
 */

/** A documented exception: an advisory accepted for the production tree, and why. */
export interface AuditException {
  /** GHSA id (`GHSA-xxxx-xxxx-xxxx`) or the advisory URL npm reports. */
  advisory: string;
  reason: string;
}

export interface Advisory {
  id: string;
  package: string;
  severity: string;
  title: string;
  url: string;
}

export type AuditVerdict =
  | { kind: 'clean'; counts: Record<string, number>; excepted: Advisory[] }
  | { kind: 'vulnerable'; advisories: Advisory[]; excepted: Advisory[] }
  | { kind: 'not_performed'; reason: string }
  | { kind: 'failed'; reason: string };

const BLOCKING = new Set(['high', 'critical']);
/** npm error codes that mean the registry could not be reached (npm also uses E<HTTP status>). */
const NETWORK_CODES = new Set([
  'ENOTFOUND',
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'ERR_SOCKET_TIMEOUT',
  'FETCH_ERROR',
]);

interface ViaAdvisory {
  title?: unknown;
  url?: unknown;
  severity?: unknown;
  name?: unknown;
}

/** The GHSA id of an advisory URL (`https://github.com/advisories/GHSA-…`), else the URL itself. */
function advisoryId(url: string): string {
  return /GHSA-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}/i.exec(url)?.[0] ?? url;
}

/**
 * Classifies npm's JSON output. `exceptions` excuse single advisories; everything else at high or
 * critical severity makes the verdict `vulnerable`.
 */
export function classifyAudit(stdout: string, exceptions: readonly AuditException[]): AuditVerdict {
  let report: unknown;
  try {
    report = JSON.parse(stdout);
  } catch {
    return { kind: 'failed', reason: `npm audit printed no JSON report (${stdout.trim().slice(0, 120) || 'empty output'})` };
  }
  if (typeof report !== 'object' || report === null) return { kind: 'failed', reason: 'npm audit printed no report' };
  const r = report as { vulnerabilities?: unknown; metadata?: { vulnerabilities?: unknown }; message?: unknown; error?: { code?: unknown; summary?: unknown } };
  if (typeof r.vulnerabilities !== 'object' || r.vulnerabilities === null) {
    // npm's shape when the advisory request failed (HTTP error or no connection): { message, …, error: { summary, detail } }.
    if (typeof r.message === 'string') return { kind: 'not_performed', reason: `the advisory endpoint could not be used: ${r.message}` };
    const code = typeof r.error?.code === 'string' ? r.error.code : '';
    const summary = typeof r.error?.summary === 'string' ? r.error.summary : '';
    if (NETWORK_CODES.has(code) || /^E[45]\d\d$/.test(code))
      return { kind: 'not_performed', reason: `the advisory endpoint could not be reached: ${code} ${summary}`.trim() };
    return { kind: 'failed', reason: `npm audit failed: ${code || 'unknown error'} ${summary}`.trim() };
  }
  const excused = new Set(exceptions.flatMap((e) => [e.advisory.toLowerCase(), advisoryId(e.advisory).toLowerCase()]));
  const found = new Map<string, Advisory>();
  for (const [name, entry] of Object.entries(r.vulnerabilities as Record<string, { via?: unknown }>)) {
    for (const via of Array.isArray(entry.via) ? (entry.via as unknown[]) : []) {
      // A string names another vulnerable package (listed on its own); objects are advisories.
      if (typeof via !== 'object' || via === null) continue;
      const v = via as ViaAdvisory;
      const severity = typeof v.severity === 'string' ? v.severity : 'unknown';
      if (!BLOCKING.has(severity)) continue;
      const url = typeof v.url === 'string' ? v.url : '';
      const id = advisoryId(url || `${name}:${String(v.title)}`);
      found.set(`${id}|${name}`, { id, package: typeof v.name === 'string' ? v.name : name, severity, title: typeof v.title === 'string' ? v.title : '', url });
    }
  }
  const all = [...found.values()];
  const isExcused = (a: Advisory): boolean => excused.has(a.id.toLowerCase()) || (a.url !== '' && excused.has(a.url.toLowerCase()));
  const excepted = all.filter(isExcused);
  const advisories = all.filter((a) => !isExcused(a));
  if (advisories.length > 0) return { kind: 'vulnerable', advisories, excepted };
  const counts =
    typeof r.metadata?.vulnerabilities === 'object' && r.metadata.vulnerabilities !== null ? (r.metadata.vulnerabilities as Record<string, number>) : {};
  return { kind: 'clean', counts, excepted };
}

/** Parses `.ci/audit-exceptions.json`: `{ "exceptions": [{ "advisory", "reason" }] }`; every exception needs a reason. */
export function parseExceptions(text: string): AuditException[] {
  const parsed = JSON.parse(text) as { exceptions?: unknown };
  if (!Array.isArray(parsed.exceptions)) throw new Error('"exceptions" must be an array');
  return parsed.exceptions.map((e: unknown, i) => {
    const x = e as Partial<AuditException>;
    if (typeof x.advisory !== 'string' || x.advisory === '' || typeof x.reason !== 'string' || x.reason.trim() === '') {
      throw new Error(`exceptions[${i}] needs an advisory and a reason`);
    }
    return { advisory: x.advisory, reason: x.reason };
  });
}

/** The lines CI prints for a verdict, and its exit code (only `vulnerable` fails). */
export function reportVerdict(verdict: AuditVerdict): { lines: string[]; exitCode: number } {
  const excepted = (list: Advisory[]): string[] =>
    list.map((a) => `  excepted (documented in .ci/audit-exceptions.json): ${a.id} ${a.package} (${a.severity})`);
  switch (verdict.kind) {
    case 'clean': {
      const counts = Object.entries(verdict.counts)
        .filter(([k]) => k !== 'total')
        .map(([k, v]) => `${k} ${v}`)
        .join(', ');
      return {
        lines: [`dependency audit: no high or critical advisories in production dependencies${counts ? ` (${counts})` : ''}`, ...excepted(verdict.excepted)],
        exitCode: 0,
      };
    }
    case 'vulnerable':
      return {
        lines: [
          `dependency audit FAILED: ${verdict.advisories.length} high/critical advisories in production dependencies`,
          ...verdict.advisories.map((a) => `  ${a.severity.toUpperCase()} ${a.package}: ${a.title} ${a.url}`),
          ...excepted(verdict.excepted),
          'Fix (npm audit fix, or upgrade the dependency) or, if the advisory cannot affect this service, add it with the reason to .ci/audit-exceptions.json and docs/OPERATIONS.md.',
        ],
        exitCode: 1,
      };
    case 'not_performed':
      return {
        lines: [
          'NOTICE: dependency audit NOT PERFORMED: this is not a clean result.',
          `  ${verdict.reason}`,
          '  Run `npm audit --omit=dev --audit-level=high` from a machine that reaches the npm advisory endpoint (see docs/OPERATIONS.md, "Dependency audit").',
        ],
        exitCode: 0,
      };
    case 'failed':
      return { lines: [`dependency audit FAILED to run: ${verdict.reason}`], exitCode: 1 };
  }
}
