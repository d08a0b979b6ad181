import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ENV_TABLE } from './env-table.js';

describe('docs/OPERATIONS.md', () => {
  it('documents every environment variable of the config table', () => {
    const doc = readFileSync(new URL('../../../../docs/OPERATIONS.md', import.meta.url), 'utf8');
    const missing = Object.keys(ENV_TABLE).filter((name) => !doc.includes(`| \`${name}\` |`));
    expect(missing).toEqual([]);
  });
});
