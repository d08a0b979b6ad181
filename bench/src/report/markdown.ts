import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ScenarioResult } from './result.js';
import { renderSvg } from './svg.js';

export function markdownReport(r: ScenarioResult): string {
  const lines: string[] = [];
  lines.push(`# Benchmark: ${r.scenario} (${r.scale}) — ${r.verdict}`, '');
  lines.push(`Run ${r.runId}, started ${r.startedAt}, ${r.durationS} s.`, '');
  lines.push('## Targets', '', '| target | required | measured | verdict |', '|---|---|---|---|');
  for (const t of r.targets) lines.push(`| ${t.name} | ${t.target} | ${t.measured} | ${t.pass ? 'PASS' : '**FAIL**'} |`);
  lines.push('', '## Figures', '', '| metric | value |', '|---|---|');
  for (const [k, v] of Object.entries(r.metrics)) lines.push(`| ${k} | ${v} |`);
  for (const c of r.charts) lines.push('', renderSvg(c), '');
  if (r.notes.length > 0) lines.push('', '## Notes', '', ...r.notes.map((n) => `- ${n}`));
  lines.push('', '## Machine', '', '| | |', '|---|---|');
  for (const [k, v] of Object.entries(r.machine)) lines.push(`| ${k} | ${v} |`);
  lines.push(`| git commit | ${r.git.commit}${r.git.dirty ? ' (uncommitted changes)' : ''} |`);
  lines.push('', '## Configuration', '', '```json', JSON.stringify(r.config, null, 2), '```', '');
  return lines.join('\n');
}

/** Writes <dir>/<scenario>-<timestamp>.json and .md; returns both paths. */
export function writeResult(dir: string, r: ScenarioResult): { json: string; md: string } {
  mkdirSync(dir, { recursive: true });
  const stamp = r.startedAt.replace(/[:.]/g, '-');
  const base = join(dir, `${r.scenario}-${stamp}`);
  writeFileSync(`${base}.json`, `${JSON.stringify(r, null, 2)}\n`);
  writeFileSync(`${base}.md`, markdownReport(r));
  return { json: `${base}.json`, md: `${base}.md` };
}

export function summaryTable(r: ScenarioResult): string {
  const rows: [string, string][] = Object.entries(r.metrics).map(([k, v]) => [k, String(v)]);
  const w = Math.max(...rows.map((x) => x[0].length), 10);
  const out = [`${r.scenario} (${r.scale})`, ...rows.map(([k, v]) => `  ${k.padEnd(w)}  ${v}`), ''];
  for (const t of r.targets) out.push(`  ${t.pass ? 'PASS' : 'FAIL'}  ${t.name}: ${t.measured} (target ${t.target})`);
  out.push(`  verdict: ${r.verdict}`);
  return out.join('\n');
}

/** Markdown table of the latest result of each scenario found in `dir`. */
export function latestTable(dir: string): string {
  let files: string[] = [];
  try {
    files = readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .sort();
  } catch {
    return `no results in ${dir}`;
  }
  const latest = new Map<string, ScenarioResult>();
  for (const f of files) {
    try {
      const r = JSON.parse(readFileSync(join(dir, f), 'utf8')) as ScenarioResult;
      if (r.scale !== 'full' && latest.has(r.scenario)) continue;
      const prev = latest.get(r.scenario);
      if (!prev || prev.scale === 'tiny' || r.scale === 'full') latest.set(r.scenario, r);
    } catch {
      /* not a result file */
    }
  }
  const lines = ['| scenario | scale | date | commit | target | measured | verdict |', '|---|---|---|---|---|---|---|'];
  for (const r of latest.values()) {
    for (const t of r.targets) {
      lines.push(
        `| ${r.scenario} | ${r.scale} | ${r.startedAt.slice(0, 10)} | ${r.git.commit.slice(0, 8)} | ${t.name}: ${t.target} | ${t.measured} | ${t.pass ? 'PASS' : 'FAIL'} |`,
      );
    }
  }
  return lines.join('\n');
}
