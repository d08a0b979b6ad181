import { describe, expect, it } from 'vitest';
import { classifyAudit, parseExceptions, reportVerdict } from './dependency-audit.js';

// npm 10's JSON output, as captured from `npm audit --omit=dev --audit-level=high --json`.
const ENDPOINT_405 = JSON.stringify({
  message: '405 Method Not Allowed - POST https://registry.npmjs.org/-/npm/v1/security/advisories/bulk',
  method: 'POST',
  uri: 'https://registry.npmjs.org/-/npm/v1/security/advisories/bulk',
  headers: { allow: ['GET,HEAD'] },
  statusCode: 405,
  body: '',
  error: { summary: '', detail: '' },
});
const UNREACHABLE = JSON.stringify({
  message: 'request to http://127.0.0.1:9/-/npm/v1/security/advisories/bulk failed, reason: connect ECONNREFUSED 127.0.0.1:9',
  error: { summary: '', detail: '' },
});
const NO_LOCKFILE = JSON.stringify({ error: { code: 'ENOLOCK', summary: 'This command requires an existing lockfile.', detail: '' } });
const DNS = JSON.stringify({ error: { code: 'EAI_AGAIN', summary: 'request to https://registry.npmjs.org failed', detail: '' } });

function report(vulnerabilities: Record<string, unknown>, counts: Record<string, number>): string {
  return JSON.stringify({
    auditReportVersion: 2,
    vulnerabilities,
    metadata: { vulnerabilities: { info: 0, low: 0, moderate: 0, high: 0, critical: 0, ...counts, total: 0 } },
  });
}
const advisory = (name: string, severity: string, ghsa: string) => ({
  source: 1,
  name,
  dependency: name,
  title: `${name} is exploitable`,
  url: `https://github.com/advisories/${ghsa}`,
  severity,
  range: '<9',
});
const CLEAN = report({}, {});
const MODERATE_ONLY = report({ tiny: { name: 'tiny', severity: 'moderate', via: [advisory('tiny', 'moderate', 'GHSA-aaaa-bbbb-cccc')] } }, { moderate: 1 });
const HIGH = report(
  {
    parser: { name: 'parser', severity: 'high', via: [advisory('parser', 'high', 'GHSA-1111-2222-3333'), advisory('parser', 'low', 'GHSA-4444-5555-6666')] },
    wrapper: { name: 'wrapper', severity: 'high', via: ['parser'] }, // transitive: names the vulnerable package, not an advisory
    crypto: { name: 'crypto', severity: 'critical', via: [advisory('crypto', 'critical', 'GHSA-7777-8888-9999')] },
  },
  { high: 2, critical: 1, low: 1 },
);

describe('dependency audit verdict (CI: npm audit --omit=dev --audit-level=high)', () => {
  it('hostile dependencies: high and critical advisories fail CI, each listed once; transitive entries and lower severities do not add to it', () => {
    const verdict = classifyAudit(HIGH, []);
    expect(verdict.kind).toBe('vulnerable');
    expect(verdict.kind === 'vulnerable' && verdict.advisories.map((a) => [a.id, a.package, a.severity])).toEqual([
      ['GHSA-1111-2222-3333', 'parser', 'high'],
      ['GHSA-7777-8888-9999', 'crypto', 'critical'],
    ]);
    const { lines, exitCode } = reportVerdict(verdict);
    expect(exitCode).toBe(1);
    expect(lines[0]).toMatch(/FAILED: 2 high\/critical advisories/);
  });

  it('a documented exception excuses exactly its advisory (by GHSA id or URL)', () => {
    const one = classifyAudit(HIGH, [{ advisory: 'GHSA-1111-2222-3333', reason: 'the parser is only fed our own config' }]);
    expect(one.kind === 'vulnerable' && one.advisories.map((a) => a.id)).toEqual(['GHSA-7777-8888-9999']);
    const both = classifyAudit(HIGH, [
      { advisory: 'ghsa-1111-2222-3333', reason: 'x' },
      { advisory: 'https://github.com/advisories/GHSA-7777-8888-9999', reason: 'y' },
    ]);
    expect(both.kind).toBe('clean');
    expect(reportVerdict(both)).toMatchObject({
      exitCode: 0,
      lines: [expect.stringMatching(/no high or critical/), expect.stringMatching(/excepted.*GHSA-1111/), expect.stringMatching(/excepted.*GHSA-7777/)],
    });
  });

  it('a clean report and a moderate-only report pass and say so', () => {
    for (const text of [CLEAN, MODERATE_ONLY]) {
      const { lines, exitCode } = reportVerdict(classifyAudit(text, []));
      expect(exitCode).toBe(0);
      expect(lines[0]).toMatch(/^dependency audit: no high or critical advisories in production dependencies/);
    }
  });

  it('an advisory endpoint answering 405, or unreachable, is a notice that the audit was NOT performed (CI goes on, never called clean)', () => {
    for (const text of [ENDPOINT_405, UNREACHABLE, DNS]) {
      const verdict = classifyAudit(text, []);
      expect(verdict.kind, text).toBe('not_performed');
      const { lines, exitCode } = reportVerdict(verdict);
      expect(exitCode).toBe(0);
      expect(lines[0]).toMatch(/NOT PERFORMED: this is not a clean result/);
      expect(lines.join('\n')).not.toMatch(/no high or critical/);
    }
    expect(classifyAudit(ENDPOINT_405, []).kind === 'not_performed' && classifyAudit(ENDPOINT_405, [])).toMatchObject({
      reason: expect.stringContaining('405'),
    });
  });

  it('npm failing for a reason of ours (no lockfile, no JSON) fails CI', () => {
    for (const text of [NO_LOCKFILE, '', 'npm ERR! something odd']) {
      const verdict = classifyAudit(text, []);
      expect(verdict.kind, text).toBe('failed');
      expect(reportVerdict(verdict).exitCode).toBe(1);
    }
  });

  it('exceptions need a reason', () => {
    expect(parseExceptions('{"exceptions":[]}')).toEqual([]);
    expect(parseExceptions('{"exceptions":[{"advisory":"GHSA-1111-2222-3333","reason":"why"}]}')).toHaveLength(1);
    expect(() => parseExceptions('{"exceptions":[{"advisory":"GHSA-1111-2222-3333"}]}')).toThrow(/reason/);
    expect(() => parseExceptions('{}')).toThrow(/array/);
  });
});
