import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeProgress, downloadProgress, fileSize, readLogFrom, reportDownloads } from './maven-progress.js';
import { runToCompletion } from './process-control.js';

export interface MavenCoordinate {
  groupId: string;
  artifactId: string;
  version: string;
}

export interface ArtifactSet {
  /** Cache directory name, e.g. `kafka-3.9.1`. */
  name: string;
  dependencies: MavenCoordinate[];
  /** Dependencies to leave out (groupId:artifactId), e.g. conflicting logging backends. */
  exclusions?: string[];
}

export const MARKER = '.complete';
const DEPENDENCY_PLUGIN_VERSION = '3.8.1';

function xmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** A throwaway pom whose only job is to let `dependency:copy-dependencies` resolve `set`. */
export function renderPom(set: ArtifactSet): string {
  const exclusions = (set.exclusions ?? [])
    .map((ga) => {
      const [g, a] = ga.split(':');
      return `<exclusion><groupId>${xmlEscape(g ?? '')}</groupId><artifactId>${xmlEscape(a ?? '*')}</artifactId></exclusion>`;
    })
    .join('');
  const deps = set.dependencies
    .map(
      (d) =>
        `    <dependency><groupId>${xmlEscape(d.groupId)}</groupId><artifactId>${xmlEscape(d.artifactId)}</artifactId>` +
        `<version>${xmlEscape(d.version)}</version>${exclusions ? `<exclusions>${exclusions}</exclusions>` : ''}</dependency>`,
    )
    .join('\n');
  return `<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.chat-backend</groupId>
  <artifactId>${xmlEscape(set.name)}-resolver</artifactId>
  <version>0</version>
  <packaging>pom</packaging>
  <dependencies>
${deps}
  </dependencies>
  <build>
    <plugins>
      <plugin>
        <groupId>org.apache.maven.plugins</groupId>
        <artifactId>maven-dependency-plugin</artifactId>
        <version>${DEPENDENCY_PLUGIN_VERSION}</version>
      </plugin>
    </plugins>
  </build>
</project>
`;
}

/** `<cache>/<name>/lib` if a previous run completed the copy (marker present), else undefined. */
export function cachedLib(cacheDir: string, name: string): string | undefined {
  const dir = join(cacheDir, name);
  return existsSync(join(dir, MARKER)) ? join(dir, 'lib') : undefined;
}

let mavenQueue: Promise<unknown> = Promise.resolve();

/**
 * Resolve `set` into `<cache>/<name>/lib/*.jar`. No Maven invocation when the marker exists.
 * Maven 3.8 does not lock its local repository, so invocations are serialized.
 */
export async function ensureArtifacts(cacheDir: string, set: ArtifactSet, log: (msg: string) => void): Promise<string> {
  const hit = cachedLib(cacheDir, set.name);
  if (hit) return hit;
  const run = mavenQueue.then(() => resolveWithMaven(cacheDir, set, log));
  mavenQueue = run.catch(() => undefined);
  return run;
}

async function resolveWithMaven(cacheDir: string, set: ArtifactSet, log: (msg: string) => void): Promise<string> {
  const hit = cachedLib(cacheDir, set.name);
  if (hit) return hit;
  const finalDir = join(cacheDir, set.name);
  const work = join(cacheDir, `.${set.name}.tmp-${process.pid}`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(join(work, 'lib'), { recursive: true });
  writeFileSync(join(work, 'pom.xml'), renderPom(set));
  log(`resolving ${set.dependencies.map((d) => `${d.groupId}:${d.artifactId}:${d.version}`).join(', ')} with Maven (first run only)...`);
  const started = Date.now();
  const logFile = join(cacheDir, `${set.name}.maven.log`);
  const logFrom = fileSize(logFile);
  // Not quiet: the log's "Downloaded from" lines are what the progress lines count.
  const stopReporting = reportDownloads(logFile, logFrom, set.name, log);
  try {
    await runToCompletion(
      process.env.MVN || 'mvn',
      [
        '-B',
        '-Dstyle.color=never',
        '-f',
        join(work, 'pom.xml'),
        'dependency:copy-dependencies',
        `-DoutputDirectory=${join(work, 'lib')}`,
        '-DincludeScope=runtime',
      ],
      { cwd: work, logFile },
    );
  } catch (err) {
    rmSync(work, { recursive: true, force: true });
    throw err;
  } finally {
    stopReporting();
  }
  const jars = readdirSync(join(work, 'lib')).filter((f) => f.endsWith('.jar'));
  if (jars.length === 0) throw new Error(`Maven resolved no jars for ${set.name}`);
  rmSync(finalDir, { recursive: true, force: true });
  renameSync(work, finalDir);
  // Written last: its presence means lib/ is complete.
  writeFileSync(join(finalDir, MARKER), JSON.stringify({ resolvedAt: new Date().toISOString(), jars: jars.length }) + '\n');
  const downloaded = downloadProgress(readLogFrom(logFile, logFrom));
  log(
    `resolved ${jars.length} jars for ${set.name} in ${((Date.now() - started) / 1000).toFixed(1)} s${downloaded.files > 0 ? ` (downloaded ${describeProgress(downloaded)})` : ' (all in the local Maven repository)'}`,
  );
  return join(finalDir, 'lib');
}

/** First candidate version whose artifact set is cached or resolves. */
export async function ensureFirstAvailable(
  cacheDir: string,
  versions: readonly string[],
  makeSet: (version: string) => ArtifactSet,
  log: (msg: string) => void,
): Promise<{ version: string; lib: string }> {
  for (const v of versions) {
    const hit = cachedLib(cacheDir, makeSet(v).name);
    if (hit) return { version: v, lib: hit };
  }
  const errors: string[] = [];
  for (const v of versions) {
    try {
      return { version: v, lib: await ensureArtifacts(cacheDir, makeSet(v), log) };
    } catch (err) {
      errors.push(`${v}: ${(err as Error).message.split('\n')[0]}`);
      log(`version ${v} could not be resolved, trying the next one`);
    }
  }
  throw new Error(`could not resolve any of ${versions.join(', ')}:\n  ${errors.join('\n  ')}`);
}

export function findJar(lib: string, prefix: string): string | undefined {
  const jar = readdirSync(lib).find((f) => f.startsWith(prefix) && f.endsWith('.jar'));
  return jar ? join(lib, jar) : undefined;
}
