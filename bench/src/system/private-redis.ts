import { spawn, type ChildProcess } from 'node:child_process';
import { createConnection } from 'node:net';

/**
 * A Redis of the run's own (`redis-server` on PATH, nothing on disk), so its INFO commandstats
 * count this run's commands only and not those of anything else sharing the machine's Redis.
 */
export class PrivateRedis {
  private constructor(
    readonly port: number,
    private readonly child: ChildProcess,
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  static async start(port: number): Promise<PrivateRedis> {
    const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    const r = new PrivateRedis(port, child);
    const deadline = Date.now() + 10_000;
    while ((await r.command('PING').catch(() => '')) !== '+PONG\r\n') {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`redis-server on ${port} did not start`);
      await new Promise((res) => setTimeout(res, 100));
    }
    return r;
  }

  /** Calls per command since start (INFO commandstats), e.g. { get: 12, mget: 3 }. */
  async commandCalls(): Promise<Record<string, number>> {
    const text = await this.command('INFO commandstats');
    const out: Record<string, number> = {};
    for (const m of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) out[m[1]!] = Number(m[2]);
    return out;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise<void>((res) => this.child.once('exit', () => res()));
    this.child.kill('SIGTERM');
    await exited;
  }

  /** One inline command over a fresh connection; resolves with the raw reply once it is complete. */
  private command(line: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const socket = createConnection({ host: '127.0.0.1', port: this.port });
      let data = '';
      socket.setTimeout(5000, () => socket.destroy(new Error('redis command timed out')));
      socket.on('connect', () => socket.write(`${line}\r\n`));
      socket.on('data', (chunk) => {
        data += chunk.toString('utf8');
        const bulk = /^\$(\d+)\r\n/.exec(data);
        if (data.startsWith('+') || data.startsWith('-') ? data.endsWith('\r\n') : bulk && Buffer.byteLength(data) >= bulk[0].length + Number(bulk[1]) + 2) {
          socket.end();
          resolve(data);
        }
      });
      socket.on('error', reject);
    });
  }
}

/** Per-command call deltas between two INFO commandstats snapshots. */
export function commandDeltas(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [cmd, calls] of Object.entries(after)) {
    const d = calls - (before[cmd] ?? 0);
    if (d > 0) out[cmd] = d;
  }
  return out;
}
