import { randomBytes } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { runServices, restartDelay } from '../src/local/run-services.js';

// `npm start`'s supervisor on a real service process (presence-service on the shared Redis and
// Cassandra): killed, it is restarted with backoff, the restart is printed, and it serves again.
describe('npm start supervision', () => {
  it('restarts a killed service with growing delays, prints each restart, pretty-prints its logs, and stops everything on request', async () => {
    const lines: string[] = [];
    const abort = new AbortController();
    // Port 0: each start picks a free port and logs it; the newest one is the running process's.
    const port = () =>
      [...lines]
        .reverse()
        .map((l) => /presence-service listening.* port=(\d+)/.exec(l)?.[1])
        .find(Boolean);
    const live = async () =>
      port() !== undefined &&
      (await fetch(`http://127.0.0.1:${port()}/livez`).then(
        (r) => r.ok,
        () => false,
      ));
    const waitFor = (check: () => boolean | Promise<boolean>, timeout: number, what: string) =>
      vi.waitFor(
        async () => {
          if (!(await check())) throw new Error(`still waiting for ${what}`);
        },
        { timeout, interval: 100 },
      );
    const done = runServices(
      [
        {
          name: 'presence',
          command: 'node',
          args: ['presence-service/dist/main.js'],
          main: 'presence-service/dist/main.js',
          env: { PRESENCE_HTTP_PORT: '0', REDIS_KEY_PREFIX: `rs${randomBytes(4).toString('hex')}:`, LOG_LEVEL: 'info' },
        },
      ],
      {},
      () => undefined,
      { signal: abort.signal, write: (t) => lines.push(t), pretty: true, restart: { baseMs: 200, capMs: 5000, stableMs: 60_000 } },
    );
    // The supervisor prints "started (pid N)" and "restarted (pid N)".
    const started = () => lines.flatMap((l) => /\] (?:re)?started \(pid (\d+)\)/.exec(l)?.slice(1) ?? []);
    const runningPid = async (count: number) => {
      await waitFor(async () => started().length >= count && (await live()), 60_000, `service start #${count}`);
      return Number(started()[count - 1]);
    };

    const first = await runningPid(1);
    // Pretty output: a time, the level and the message, not raw JSON.
    expect(lines.find((l) => l.includes('presence-service listening'))).toMatch(/^\[presence\] \d\d:\d\d:\d\d\.\d{3} INFO +\S* ?presence-service listening/);
    process.kill(first, 'SIGKILL');
    await waitFor(() => lines.some((l) => l.includes('crashed (SIGKILL); restarting in 200 ms (restart 1)')), 30_000, 'the first restart to be printed');
    const second = await runningPid(2);
    expect(second).not.toBe(first);

    process.kill(second, 'SIGKILL');
    await waitFor(
      () => lines.some((l) => l.includes('crashed (SIGKILL); restarting in 400 ms (restart 2)')),
      30_000,
      'the second restart, after a longer delay',
    );
    const third = await runningPid(3);
    expect(third).not.toBe(second);

    abort.abort();
    await done;
    expect(lines.at(-1)).toMatch(/exited \((SIGTERM|code 0)\)/);
    const lastPort = port();
    expect(
      await fetch(`http://127.0.0.1:${lastPort}/livez`).then(
        () => 'answered',
        () => 'refused',
      ),
    ).toBe('refused');
  }, 180_000);

  it('backs off exponentially up to the cap', () => {
    expect([1, 2, 3, 4, 10].map((n) => restartDelay(n, 500, 30_000))).toEqual([500, 1000, 2000, 4000, 30_000]);
  });
});
