import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ENV_TABLE, type EnvName } from './env-table.js';

interface DocRow {
  name: string;
  defaultCell: string;
  meaning: string;
}

/** The rows of the table under "## Configuration" in docs/OPERATIONS.md, in order. */
function documentedRows(): DocRow[] {
  const doc = readFileSync(new URL('../../../../docs/OPERATIONS.md', import.meta.url), 'utf8');
  const section = doc.split('\n## Configuration\n')[1]?.split('\n## ')[0] ?? '';
  const rows: DocRow[] = [];
  for (const line of section.split('\n')) {
    const cells = line.match(/^\| `([A-Z0-9_]+)` \| (.*?) \| (.*) \|$/);
    if (cells) rows.push({ name: cells[1]!, defaultCell: cells[2]!, meaning: cells[3]! });
  }
  return rows;
}

/** Markdown to the table's plain text: code spans and escaped pipes read as the characters. */
const plain = (text: string): string => text.replaceAll('`', '').replaceAll('\\|', '|');

describe('docs/OPERATIONS.md configuration table', () => {
  const rows = documentedRows();
  const names = Object.keys(ENV_TABLE) as EnvName[];

  it('lists every variable of the env table once, in its order, and nothing else', () => {
    expect(rows.map((r) => r.name)).toEqual(names);
  });

  it.each(names)("%s: the documented default and meaning are the table's", (name) => {
    const row = rows.find((r) => r.name === name);
    expect(row, `${name} has no row`).toBeDefined();
    const spec: { default: string | undefined; localDefault?: string; description: string } = ENV_TABLE[name];
    expect(plain(row!.meaning)).toBe(plain(spec.description));
    if (spec.default === undefined) expect(row!.defaultCell).toMatch(/^required\b/);
    else if (spec.default === '') expect(row!.defaultCell).toMatch(/^\(empty\b/);
    else expect(row!.defaultCell.startsWith(`\`${spec.default}\``), row!.defaultCell).toBe(true);
    if (spec.localDefault !== undefined) expect(row!.defaultCell).toContain(`\`${spec.localDefault}\` unless \`NODE_ENV=production\``);
  });
});
