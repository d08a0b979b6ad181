import { closeSync, openSync, readSync, statSync } from 'node:fs';

export interface DownloadProgress {
  /** Files downloaded (jars, poms, checksums' targets). */
  files: number;
  jars: number;
  bytes: number;
}

/** Maven's size units (SI, as its transfer listener prints them). */
const UNITS: Record<string, number> = { B: 1, kB: 1e3, KB: 1e3, MB: 1e6, GB: 1e9 };
const DOWNLOADED = /Downloaded from [^:\s]+: (\S+) \((\d+(?:\.\d+)?) (B|kB|KB|MB|GB)\b/g;
// biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI colour codes are what it removes
const ANSI = /\x1b\[[0-9;]*m/g;

/** What Maven's log says it downloaded: its "Downloaded from <repo>: <url> (<size> at <rate>)" lines. */
export function downloadProgress(log: string): DownloadProgress {
  const progress: DownloadProgress = { files: 0, jars: 0, bytes: 0 };
  for (const m of log.replace(ANSI, '').matchAll(DOWNLOADED)) {
    progress.files++;
    if ((m[1] as string).endsWith('.jar')) progress.jars++;
    progress.bytes += Number(m[2]) * (UNITS[m[3] as string] ?? 1);
  }
  return progress;
}

/** e.g. `12 jars, 48.3 MB` */
export function describeProgress(p: DownloadProgress): string {
  return `${p.jars} jar${p.jars === 1 ? '' : 's'}, ${(p.bytes / 1e6).toFixed(1)} MB`;
}

/**
 * Prints what Maven downloaded so far every `everyMs` while it runs (a first run fetches about
 * 137 MB), reading its log file from `fromOffset` (the log is appended to). Prints only when
 * something changed. Returns the function that stops it.
 */
export function reportDownloads(logFile: string, fromOffset: number, name: string, log: (msg: string) => void, everyMs = 3000): () => void {
  const started = Date.now();
  let shown = '';
  const timer = setInterval(() => {
    const progress = downloadProgress(readLogFrom(logFile, fromOffset));
    if (progress.files === 0) return;
    const text = describeProgress(progress);
    if (text === shown) return;
    shown = text;
    log(`${name}: downloaded ${text} so far (${Math.round((Date.now() - started) / 1000)} s)`);
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}

/** Size of a file, 0 when it does not exist yet. */
export function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/** The text of a log file from byte `offset` on; empty when unreadable. */
export function readLogFrom(path: string, offset: number): string {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const length = Math.max(0, fileSize(path) - offset);
    const buf = Buffer.alloc(length);
    readSync(fd, buf, 0, length, offset);
    return buf.toString('utf8');
  } catch {
    return '';
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
