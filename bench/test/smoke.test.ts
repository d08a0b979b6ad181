import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runScenario, type RunOutput } from '../dist/index.js';

// Runs every benchmark scenario at tiny scale through the same code paths as full runs. Each run
// uses its own Redis key prefix, Kafka topic, user ids and ports, and stops every process it started
// (also on failure: runScenario stops them in `finally`, and a process 'exit' hook kills leftovers).
const resultsDir = mkdtempSync(join(tmpdir(), 'bench-smoke-'));
let port = 21000 + Math.floor(Math.random() * 50) * 100;

async function tiny(scenario: string): Promise<RunOutput> {
  port += 100;
  const out = await runScenario({ scenario, scale: 'tiny', resultsDir, basePort: port, ensureInfra: false, log: () => undefined });
  expect(existsSync(out.files.json)).toBe(true);
  expect(existsSync(out.files.md)).toBe(true);
  return out;
}

function failed(out: RunOutput): string[] {
  return out.result.targets.filter((t) => !t.pass).map((t) => `${t.name}: ${t.measured} (target ${t.target})`);
}

describe('bench smoke (tiny scale)', () => {
  afterAll(() => rmSync(resultsDir, { recursive: true, force: true }));

  it('direct: delivered and persisted with zero loss', async () => {
    const out = await tiny('direct');
    // Latency and CPU targets are not asserted at tiny scale on a shared 2-core machine; loss is.
    expect(failed(out).filter((f) => !f.startsWith('p99') && !f.startsWith('CPU'))).toEqual([]);
  });

  it('throughput: every rate delivered and persisted with zero loss, product and bare pipeline', async () => {
    const out = await tiny('throughput');
    // Where the knees fall is not asserted at tiny scale on a shared 2-core machine; loss is.
    expect(failed(out).filter((f) => !f.startsWith('knee'))).toEqual([]);
    expect(out.result.metrics['knee, bare pipeline']).toBeDefined();
  });

  it('connections: all held, no unexpected closes', async () => {
    const out = await tiny('connections');
    expect(failed(out).filter((f) => !f.startsWith('gateway RSS'))).toEqual([]);
  });

  it('group-fanout: every member got every message', async () => {
    const out = await tiny('group-fanout');
    expect(failed(out).filter((f) => f.includes('zero loss'))).toEqual([]);
  });

  it('inbox-sync: every user got every waiting message both ways; inbox rows per message match the fanout', async () => {
    const out = await tiny('inbox-sync');
    expect(failed(out)).toEqual([]);
  });

  it('reconnect-storm: all resumed without gaps', async () => {
    const out = await tiny('reconnect-storm');
    expect(failed(out).filter((f) => !f.startsWith('peak RSS'))).toEqual([]);
  });
});
