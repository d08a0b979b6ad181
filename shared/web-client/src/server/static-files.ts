import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Content types of the files the client is made of; anything else is not served. */
const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** A URL prefix served from one folder. */
export interface StaticRoot {
  /** URL path prefix ending in `/`, e.g. `/vendor/sdk/`. */
  prefix: string;
  /** Absolute folder. */
  dir: string;
}

/** The folder holding a package's entry module (its built `dist/`), found the way Node resolves the package. */
export function packageEntryDir(specifier: string): string {
  return dirname(createRequire(import.meta.url).resolve(specifier));
}

/**
 * The folders the client is served from: the page and stylesheet, the compiled browser modules,
 * and the SDK's and the contract's built modules, which the page's import map names
 * `@chat/sdk` and `@chat/protocol` (no bundler: the browser loads the same ES modules Node does).
 */
export function clientRoots(): StaticRoot[] {
  const here = dirname(fileURLToPath(import.meta.url)); // dist/server
  return [
    { prefix: '/app/', dir: join(here, '..', 'browser') },
    { prefix: '/vendor/sdk/', dir: packageEntryDir('@chat/sdk') },
    { prefix: '/vendor/protocol/', dir: packageEntryDir('@chat/protocol') },
    { prefix: '/', dir: join(here, '..', '..', 'public') },
  ];
}

export interface StaticFile {
  body: Buffer;
  contentType: string;
}

/**
 * The file a URL path names under `roots`, or undefined: unknown extension, a path that would
 * leave its folder (`..`, encoded or not), or no such file. `/` is `index.html`.
 */
export async function findStaticFile(roots: readonly StaticRoot[], pathname: string): Promise<StaticFile | undefined> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname === '/' ? '/index.html' : pathname);
  } catch {
    return undefined;
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return undefined;
  const root = roots.find((r) => decoded.startsWith(r.prefix));
  if (!root) return undefined;
  const ext = /\.[a-z]+$/.exec(decoded)?.[0];
  const contentType = ext !== undefined ? CONTENT_TYPES[ext] : undefined;
  if (contentType === undefined) return undefined;
  const file = normalize(join(root.dir, decoded.slice(root.prefix.length)));
  if (!file.startsWith(root.dir + sep)) return undefined;
  try {
    return { body: await readFile(file), contentType };
  } catch {
    return undefined;
  }
}
