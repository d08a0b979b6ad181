import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

/** Metric families of a Prometheus text exposition: name → type, from its `# TYPE` lines. */
export function metricFamilies(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) out.set(m[1]!, m[2]!);
  return out;
}

/** The sum of the samples of series `name` whose labels include `labels`. */
export function sampleSum(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const m of text.matchAll(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/gm)) {
    if (m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1]!, l[2]!]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) sum += Number(m[3]);
  }
  return sum;
}

const METRIC_NAME = /\b((?:chat|process|nodejs)_[a-z0-9_]+)/g;
const SERIES_SUFFIX = /_(bucket|sum|count)$/;

/** Metric names in PromQL expressions, histogram series (`_bucket`, `_sum`, `_count`) named by their family. */
export function metricNamesIn(exprs: readonly string[], families: ReadonlyMap<string, string>): Set<string> {
  const names = new Set<string>();
  for (const expr of exprs) {
    for (const m of expr.matchAll(METRIC_NAME)) {
      const name = m[1]!;
      const base = name.replace(SERIES_SUFFIX, '');
      names.add(base !== name && (families.get(base) === 'histogram' || families.get(base) === 'summary') ? base : name);
    }
  }
  return names;
}

/** Every `expr` of a Grafana dashboard's panels (rows' nested panels included). */
export function dashboardExprs(path: URL): string[] {
  const dashboard = JSON.parse(readFileSync(path, 'utf8')) as { panels: Panel[] };
  const exprs: string[] = [];
  const visit = (panels: Panel[]) => {
    for (const p of panels) {
      for (const t of p.targets ?? []) if (typeof t.expr === 'string') exprs.push(t.expr);
      visit(p.panels ?? []);
    }
  };
  visit(dashboard.panels);
  return exprs;
}

interface Panel {
  targets?: { expr?: unknown }[];
  panels?: Panel[];
}

/** Every `expr` of a Prometheus rules file (alerting and recording rules). */
export function ruleExprs(path: URL): string[] {
  const rules = parse(readFileSync(path, 'utf8')) as { groups: { rules: { expr: string }[] }[] };
  return rules.groups.flatMap((g) => g.rules.map((r) => String(r.expr)));
}
