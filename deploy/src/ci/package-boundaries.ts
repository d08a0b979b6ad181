import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';

/** One workspace package: where it is and what its package.json declares. */
export interface WorkspacePackage {
  /** Folder relative to the repository root, e.g. `shared/sdk`. */
  dir: string;
  name: string;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
}

/** One import a source file makes: the specifier as written. */
export interface SourceImport {
  /** File relative to the repository root. */
  file: string;
  specifier: string;
}

const SOURCE_EXTENSIONS = ['.ts', '.mts', '.mjs', '.js'];
const SKIPPED_DIRS = new Set(['node_modules', 'dist', 'results']);
const IMPORT_PATTERNS = [
  /^\s*(?:import|export)\b[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]/gm, // static imports and re-exports
  /^\s*import\s*['"]([^'"]+)['"]/gm, // imports for their side effects
  /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g, // dynamic imports
];

/** The workspace packages the root package.json lists. */
export function readWorkspaces(root: string): WorkspacePackage[] {
  const rootManifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { workspaces: string[] };
  return rootManifest.workspaces.map((dir) => {
    const manifest = JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8')) as Partial<WorkspacePackage>;
    return { dir, name: manifest.name ?? dir, dependencies: manifest.dependencies ?? {}, devDependencies: manifest.devDependencies ?? {} };
  });
}

/** Every import specifier in a package's sources (src, test, examples), comments included as written. */
export function importsOf(root: string, pkg: WorkspacePackage): SourceImport[] {
  const out: SourceImport[] = [];
  for (const file of sourceFiles(join(root, pkg.dir))) {
    const text = readFileSync(file, 'utf8');
    for (const pattern of IMPORT_PATTERNS) {
      for (const match of text.matchAll(pattern)) out.push({ file: relative(root, file), specifier: match[1] as string });
    }
  }
  return out;
}

/** Whether a file is test code (tests, their support, examples), which may use devDependencies. */
export function isTestFile(file: string): boolean {
  return /\.test\.[mc]?[jt]s$/.test(file) || file.split(/[\\/]/).some((part) => part === 'test' || part === 'examples');
}

/**
 * What is wrong with the imports of the packages: a relative import that leaves its package, a
 * package reached through its `src/` or `dist/` instead of its exports, a package imported without
 * being declared (production code must use `dependencies`; tests may also use devDependencies,
 * their own or the root's). Empty when all is well.
 */
export function boundaryProblems(root: string, packages: readonly WorkspacePackage[], rootDevDependencies: Record<string, string>): string[] {
  const problems: string[] = [];
  for (const pkg of packages) {
    const pkgRoot = resolve(root, pkg.dir);
    for (const { file, specifier } of importsOf(root, pkg)) {
      if (specifier.startsWith('.')) {
        const target = resolve(root, dirname(file), specifier);
        if (target !== pkgRoot && !target.startsWith(pkgRoot + sep))
          problems.push(`${file}: '${specifier}' reaches outside ${pkg.dir}/; import the package by name`);
        continue;
      }
      if (specifier.startsWith('node:') || builtinModules.includes(specifier)) continue;
      const name = packageName(specifier);
      const subpath = specifier.slice(name.length + 1);
      if (/^(src|dist)(\/|$)/.test(subpath)) problems.push(`${file}: '${specifier}' reaches into ${name}'s internals; use its exports`);
      if (name === pkg.name) continue;
      const declared = name in pkg.dependencies || (isTestFile(file) && (name in pkg.devDependencies || name in rootDevDependencies));
      if (!declared) problems.push(`${file}: imports ${name}, which ${pkg.dir}/package.json does not declare${isTestFile(file) ? '' : ' in dependencies'}`);
    }
  }
  return problems;
}

/**
 * Imports of the files under `subdir` of a package (e.g. the browser half of a package that also
 * has a Node half) that name anything but the packages in `allowed`: another package, or a Node
 * built-in, which a browser does not have. Relative imports inside the folder are fine. Empty when all is well.
 */
export function importsBeyond(root: string, pkg: WorkspacePackage, subdir: string, allowed: readonly string[]): string[] {
  const folder = resolve(root, pkg.dir, subdir);
  const problems: string[] = [];
  for (const { file, specifier } of importsOf(root, pkg)) {
    const path = resolve(root, file);
    if (!path.startsWith(folder + sep)) continue;
    if (specifier.startsWith('.')) {
      const target = resolve(dirname(path), specifier);
      if (!target.startsWith(folder + sep)) problems.push(`${file}: '${specifier}' leaves ${pkg.dir}/${subdir}/`);
      continue;
    }
    if (!allowed.includes(packageName(specifier))) problems.push(`${file}: imports ${specifier}; ${pkg.dir}/${subdir}/ may import ${allowed.join(', ')} only`);
  }
  return problems;
}

/**
 * The production dependency tree of a package as installed: every package reachable through
 * `dependencies` (and optional and peer dependencies), resolved the way Node resolves them.
 */
export function installedDependencyTree(root: string, pkg: WorkspacePackage): Set<string> {
  const seen = new Set<string>();
  const visit = (fromDir: string, deps: Record<string, string>): void => {
    for (const name of Object.keys(deps)) {
      if (seen.has(name)) continue;
      seen.add(name);
      const dir = resolveInstalled(fromDir, name, root);
      if (dir === undefined) continue; // not installed: the tree is what is there
      const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Record<string, Record<string, string> | undefined>;
      visit(dir, { ...manifest.dependencies, ...manifest.optionalDependencies, ...manifest.peerDependencies });
    }
  };
  visit(resolve(root, pkg.dir), pkg.dependencies);
  return seen;
}

function resolveInstalled(fromDir: string, name: string, root: string): string | undefined {
  for (let dir = fromDir; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dir === root || dirname(dir) === dir) return undefined;
  }
}

function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? `${parts[0]}/${parts[1]}` : (parts[0] as string);
}

function* sourceFiles(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('.') || SKIPPED_DIRS.has(entry.name)) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* sourceFiles(path);
    else if (SOURCE_EXTENSIONS.some((ext) => entry.name.endsWith(ext)) && !entry.name.endsWith('.d.ts')) yield path;
  }
}
