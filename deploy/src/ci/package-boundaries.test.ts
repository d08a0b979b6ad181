import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../local/paths.js';
import { boundaryProblems, importsBeyond, installedDependencyTree, readWorkspaces } from './package-boundaries.js';

const rootManifest = (root: string) => JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { devDependencies?: Record<string, string> };

describe('package boundaries of this repository', () => {
  const packages = readWorkspaces(REPO_ROOT);

  it('no package imports another package by path or through its src/ or dist/, and every import is declared', () => {
    expect(boundaryProblems(REPO_ROOT, packages, rootManifest(REPO_ROOT).devDependencies ?? {})).toEqual([]);
  });

  it("the SDK's installed production dependency tree is the wire contract alone", () => {
    const sdk = packages.find((p) => p.name === '@chat/sdk');
    expect(sdk).toBeDefined();
    expect([...installedDependencyTree(REPO_ROOT, sdk!)]).toEqual(['@chat/protocol']);
  });

  it("the browser client's page code imports the SDK and the contract alone (no Node built-in, no server kit)", () => {
    const web = packages.find((p) => p.name === '@chat/web-client');
    expect(web).toBeDefined();
    expect(importsBeyond(REPO_ROOT, web!, 'src/browser', ['@chat/sdk', '@chat/protocol'])).toEqual([]);
  });

  it('the wire contract has no runtime dependency', () => {
    const protocol = packages.find((p) => p.name === '@chat/protocol');
    expect(protocol?.dependencies).toEqual({});
  });
});

describe('boundaryProblems', () => {
  const root = mkdtempSync(join(tmpdir(), 'boundaries-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const write = (path: string, text: string) => {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  };
  write('package.json', JSON.stringify({ workspaces: ['a', 'b'], devDependencies: { vitest: '1' } }));
  write('a/package.json', JSON.stringify({ name: '@x/a', dependencies: { '@x/b': '1', left: '1' }, devDependencies: { tool: '1' } }));
  write('b/package.json', JSON.stringify({ name: '@x/b', dependencies: { deep: '1' } }));
  write('node_modules/left/package.json', JSON.stringify({ name: 'left', dependencies: { right: '1' } }));
  write('node_modules/right/package.json', JSON.stringify({ name: 'right' }));
  write('node_modules/@x/b/package.json', JSON.stringify({ name: '@x/b', dependencies: { deep: '1' } }));
  write('node_modules/deep/package.json', JSON.stringify({ name: 'deep' }));
  write(
    'a/src/fine.ts',
    "import { b } from '@x/b';\nimport { l } from 'left';\nimport { h } from './here.js';\nimport { readFileSync } from 'node:fs';\nimport path from 'path';\n",
  );
  write(
    'a/src/bad.ts',
    "import { b } from '../../b/src/index.js';\nimport { c } from '@x/b/src/thing';\nimport { t } from 'tool';\nexport { u } from 'undeclared';\nconst lazy = await import('../../b/dist/x.js');\n",
  );
  write('a/test/ok.test.ts', "import { t } from 'tool';\nimport { describe } from 'vitest';\n");

  it('names each import that leaves its package, reaches into internals or is undeclared, and nothing else', () => {
    const problems = boundaryProblems(root, readWorkspaces(root), rootManifest(root).devDependencies ?? {});
    expect(problems.every((p) => p.startsWith('a/src/bad.ts: '))).toBe(true);
    expect(problems.map((p) => p.replace(/^a\/src\/bad\.ts: '?/, '').split(/['\s]/)[0])).toEqual([
      '../../b/src/index.js',
      '@x/b/src/thing',
      'imports',
      'imports',
      '../../b/dist/x.js',
    ]);
    expect(problems.join('\n')).toMatch(/imports tool, which a\/package.json does not declare in dependencies/);
    expect(problems.join('\n')).toMatch(/imports undeclared/);
  });

  it('importsBeyond names what a folder imports past its allowlist: other packages, Node built-ins, relative paths out of it', () => {
    write('b/src/browser/ok.ts', "import { x } from '@x/b';\nimport { y } from './y.js';\n");
    write('b/src/browser/bad.ts', "import { readFileSync } from 'node:fs';\nimport { d } from 'deep';\nimport { s } from '../server/s.js';\n");
    write('b/src/server/s.ts', "import { readFileSync } from 'node:fs';\n");
    const b = readWorkspaces(root).find((p) => p.name === '@x/b')!;
    expect(importsBeyond(root, b, 'src/browser', ['@x/b'])).toEqual([
      'b/src/browser/bad.ts: imports node:fs; b/src/browser/ may import @x/b only',
      'b/src/browser/bad.ts: imports deep; b/src/browser/ may import @x/b only',
      "b/src/browser/bad.ts: '../server/s.js' leaves b/src/browser/",
    ]);
  });

  it('follows dependencies transitively as installed', () => {
    const a = readWorkspaces(root).find((p) => p.name === '@x/a')!;
    expect([...installedDependencyTree(root, a)].sort()).toEqual(['@x/b', 'deep', 'left', 'right']);
  });
});
