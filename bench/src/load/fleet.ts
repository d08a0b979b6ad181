import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { WorkerReply, WorkerRequest } from './protocol.js';

type Req = WorkerRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;
type ResultOf<T extends WorkerRequest['type']> = Extract<WorkerReply, { type: T }> extends { result: infer R } ? R : never;

/** Hard cap of sockets one worker may hold (the process limit is 20,000 open files). */
export const MAX_SOCKETS_PER_WORKER = 18_000;

interface Pending {
  resolve: (reply: WorkerReply) => void;
  reject: (err: Error) => void;
}

class WorkerHandle {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  exited = false;

  constructor(
    readonly index: number,
    readonly child: ChildProcess,
  ) {
    child.on('message', (msg: WorkerReply) => {
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      p.resolve(msg);
    });
    child.on('exit', (code, signal) => {
      this.exited = true;
      for (const p of this.pending.values()) p.reject(new Error(`load worker ${index} exited (${signal ?? code})`));
      this.pending.clear();
    });
  }

  request<T extends WorkerRequest['type']>(req: Extract<Req, { type: T }>): Promise<ResultOf<T>> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      if (this.exited) return reject(new Error(`load worker ${this.index} is not running`));
      this.pending.set(id, {
        resolve: (reply) => {
          if (reply.type === 'error') reject(new Error(`load worker ${this.index}: ${reply.message}`));
          else resolve((reply as unknown as { result: ResultOf<T> }).result);
        },
        reject,
      });
      this.child.send({ ...req, id });
    });
  }
}

/** The coordinator's view of the load-generator processes. */
export class LoadFleet {
  private constructor(readonly workers: WorkerHandle[]) {}

  static async start(count: number, env: Record<string, string>): Promise<LoadFleet> {
    const main = fileURLToPath(new URL('./worker.js', import.meta.url));
    const workers: WorkerHandle[] = [];
    for (let i = 0; i < count; i++) {
      const child = fork(main, [], {
        env: { ...process.env, ...env, BENCH_WORKER_INDEX: String(i) },
        execArgv: ['--max-old-space-size=4096'],
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      workers.push(new WorkerHandle(i, child));
    }
    return new LoadFleet(workers);
  }

  get pids(): number[] {
    return this.workers.map((w) => w.child.pid ?? -1);
  }

  /** Sends one request per worker (built by `make`) and waits for all replies. */
  all<T extends WorkerRequest['type']>(make: (w: number) => Extract<Req, { type: T }> | undefined): Promise<(ResultOf<T> | undefined)[]> {
    return Promise.all(
      this.workers.map((w) => {
        const req = make(w.index);
        return req ? w.request<T>(req) : Promise.resolve(undefined);
      }),
    );
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.workers.map(
        (w) =>
          new Promise<void>((resolve) => {
            if (w.exited) return resolve();
            const timer = setTimeout(() => w.child.kill('SIGKILL'), 3000);
            w.child.once('exit', () => {
              clearTimeout(timer);
              resolve();
            });
            w.child.kill('SIGTERM');
          }),
      ),
    );
  }
}
