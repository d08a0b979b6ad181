import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { describeProgress, downloadProgress, fileSize, reportDownloads } from './maven-progress.js';

// Lines as Maven 3.8 prints them in batch mode (colour codes included, as some terminals get them).
const LOG = [
  '[INFO] Downloading from central: https://repo.maven.apache.org/maven2/org/apache/kafka/kafka_2.13/3.9.1/kafka_2.13-3.9.1.pom',
  '[INFO] Downloaded from central: https://repo.maven.apache.org/maven2/org/apache/kafka/kafka_2.13/3.9.1/kafka_2.13-3.9.1.pom (4.2 kB at 21 kB/s)',
  '\x1b[1;34mINFO\x1b[m] Downloaded from central: https://repo.maven.apache.org/maven2/org/apache/kafka/kafka_2.13/3.9.1/kafka_2.13-3.9.1.jar (6.5 MB at 12 MB/s)',
  '[INFO] Downloaded from central: https://repo.maven.apache.org/maven2/com/github/luben/zstd-jni/1.5.6-4/zstd-jni-1.5.6-4.jar (7.3 MB at 9.8 MB/s)',
  '[INFO] Downloaded from central: https://repo.maven.apache.org/maven2/x/y/1/y-1.jar (512 B at 3 kB/s)',
].join('\n');

const dir = mkdtempSync(join(tmpdir(), 'maven-progress-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('Maven download progress', () => {
  it("counts the log's downloaded files, jars and bytes (SI units, colour codes ignored); starting downloads do not count", () => {
    const p = downloadProgress(LOG);
    expect(p).toEqual({ files: 4, jars: 3, bytes: 4200 + 6.5e6 + 7.3e6 + 512 });
    expect(describeProgress(p)).toBe('3 jars, 13.8 MB');
    expect(downloadProgress('[INFO] BUILD SUCCESS')).toEqual({ files: 0, jars: 0, bytes: 0 });
  });

  it('reports while Maven runs, only what this run appended and only when it changed', async () => {
    const file = join(dir, 'kafka.maven.log');
    writeFileSync(file, `${LOG}\n`); // an earlier run's lines
    const lines: string[] = [];
    const stop = reportDownloads(file, fileSize(file), 'kafka-3.9.1', (m) => lines.push(m), 20);
    await new Promise((r) => setTimeout(r, 80));
    expect(lines).toEqual([]);
    appendFileSync(file, '[INFO] Downloaded from central: https://r/a/b/1/b-1.jar (2.0 MB at 1 MB/s)\n');
    await new Promise((r) => setTimeout(r, 100));
    stop();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^kafka-3\.9\.1: downloaded 1 jar, 2\.0 MB so far \(\d+ s\)$/);
  });
});
