import { readFileSync, readdirSync } from 'node:fs';

const TICKS_PER_SEC = 100;

export interface ProcSample {
  rssBytes: number;
  peakRssBytes: number;
  /** CPU time (user + system) in ms since the process started. */
  cpuMs: number;
}

/** Reads /proc/<pid>; undefined when the process is gone. */
export function sampleProc(pid: number): ProcSample | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? '0') * 1024;
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cpuTicks = Number(fields[11]) + Number(fields[12]);
    return { rssBytes: kb('VmRSS'), peakRssBytes: kb('VmHWM'), cpuMs: (cpuTicks * 1000) / TICKS_PER_SEC };
  } catch {
    return undefined;
  }
}

/** Pids of the local infrastructure (found by command line; only read, never signalled). */
export function findInfraPids(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let cmd: string;
    try {
      cmd = readFileSync(`/proc/${name}/cmdline`, 'utf8');
    } catch {
      continue;
    }
    if (cmd.includes('kafka.Kafka')) out.kafka ??= Number(name);
    else if (cmd.includes('CassandraDaemon')) out.cassandra ??= Number(name);
    else if (cmd.startsWith('redis-server') && cmd.includes('16379')) out.redis ??= Number(name);
  }
  return out;
}

/** CPU% per named process between two points in time. */
export class CpuMeter {
  private start = new Map<string, { cpuMs: number; at: number }>();

  constructor(private readonly pids: () => Record<string, number>) {}

  begin(): void {
    this.start.clear();
    const at = Date.now();
    for (const [name, pid] of Object.entries(this.pids())) {
      const s = sampleProc(pid);
      if (s) this.start.set(name, { cpuMs: s.cpuMs, at });
    }
  }

  /** CPU seconds used per second of wall time (1.0 = one full core) and CPU ms used, per process. */
  end(): Record<string, { cores: number; cpuMs: number }> {
    const out: Record<string, { cores: number; cpuMs: number }> = {};
    const at = Date.now();
    for (const [name, pid] of Object.entries(this.pids())) {
      const s = sampleProc(pid);
      const b = this.start.get(name);
      if (!s || !b) continue;
      const cpuMs = s.cpuMs - b.cpuMs;
      out[name] = { cores: Math.round((cpuMs / Math.max(1, at - b.at)) * 100) / 100, cpuMs: Math.round(cpuMs) };
    }
    return out;
  }
}
