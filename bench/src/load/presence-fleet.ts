import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { PresenceWorkerReply, PresenceWorkerRequest } from './presence-protocol.js';

type Req = PresenceWorkerRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;
type ResultOf<T extends PresenceWorkerRequest['type']> = Extract<PresenceWorkerReply, { type: T }> extends { result: infer R } ? R : never;

/** The `presence` scenario's load workers (presence-worker.ts), one request per worker at a time. */
export class PresenceFleet {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (r: PresenceWorkerReply) => void; reject: (e: Error) => void }>();

  private constructor(private readonly children: ChildProcess[]) {
    children.forEach((child, i) => {
      child.on('message', (msg: PresenceWorkerReply) => {
        const p = this.pending.get(msg.id);
        this.pending.delete(msg.id);
        p?.resolve(msg);
      });
      child.on('exit', (code, signal) => {
        for (const p of this.pending.values()) p.reject(new Error(`presence load worker ${i} exited (${signal ?? code})`));
        this.pending.clear();
      });
    });
  }

  static start(count: number, env: Record<string, string>): PresenceFleet {
    const main = fileURLToPath(new URL('./presence-worker.js', import.meta.url));
    return new PresenceFleet(
      Array.from({ length: count }, (_, i) =>
        fork(main, [], {
          env: { ...process.env, ...env, BENCH_WORKER_INDEX: String(i) },
          execArgv: ['--max-old-space-size=4096'],
          stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        }),
      ),
    );
  }

  get pids(): number[] {
    return this.children.map((c) => c.pid ?? -1);
  }

  /** One request per worker (built by `make`); resolves with every worker's result. */
  all<T extends PresenceWorkerRequest['type']>(make: (w: number) => Extract<Req, { type: T }>): Promise<ResultOf<T>[]> {
    return Promise.all(
      this.children.map(
        (child, w) =>
          new Promise<ResultOf<T>>((resolve, reject) => {
            const id = this.nextId++;
            this.pending.set(id, {
              resolve: (r) =>
                r.type === 'error' ? reject(new Error(`presence load worker ${w}: ${r.message}`)) : resolve((r as unknown as { result: ResultOf<T> }).result),
              reject,
            });
            child.send({ ...make(w), id });
          }),
      ),
    );
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.children.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null || c.signalCode !== null) return resolve();
            const timer = setTimeout(() => c.kill('SIGKILL'), 3000);
            c.once('exit', () => {
              clearTimeout(timer);
              resolve();
            });
            c.kill('SIGTERM');
          }),
      ),
    );
  }
}
