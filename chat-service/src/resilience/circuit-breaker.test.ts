import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createConnection } from 'node:net';
import { describe, expect, it } from 'vitest';
import { CircuitBreaker } from './circuit-breaker.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const refusal = () => new Error('open');
const infra = () => true;

/** Keeps the event loop (and so every timer and socket callback) busy for `ms`. */
function blockEventLoop(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until);
}

describe('CircuitBreaker', () => {
  it('item 14: opens after consecutive failures, refuses during the cool-down, lets one probe through, closes on its success', () => {
    let now = 0;
    const changes: string[] = [];
    const b = new CircuitBreaker('redis', { failureThreshold: 3, cooldownMs: 100, now: () => now }, (s) => changes.push(s));
    b.failure();
    b.failure();
    b.success(); // not consecutive
    b.failure();
    b.failure();
    expect(b.state).toBe('closed');
    b.failure();
    expect(b.state).toBe('open');
    expect(b.tryAcquire()).toBe(false);
    now = 100;
    expect(b.tryAcquire()).toBe(true);
    expect(b.tryAcquire()).toBe(false); // one probe at a time
    b.failure(); // the probe failed: another cool-down
    expect(b.state).toBe('open');
    now = 200;
    expect(b.tryAcquire()).toBe(true);
    b.success();
    expect(b.state).toBe('closed');
    expect(changes).toEqual(['open', 'half-open', 'open', 'half-open', 'closed']);
  });

  it('run() counts only the failures the classifier names', async () => {
    const b = new CircuitBreaker('cassandra', { failureThreshold: 1 });
    const refusal = () => new Error('open');
    await expect(
      b.run(
        () => Promise.reject(new Error('not a member')),
        () => false,
        refusal,
      ),
    ).rejects.toThrow('not a member');
    expect(b.state).toBe('closed');
    await expect(
      b.run(
        () => Promise.reject(new Error('down')),
        () => true,
        refusal,
      ),
    ).rejects.toThrow('down');
    await expect(
      b.run(
        () => Promise.resolve(1),
        () => true,
        refusal,
      ),
    ).rejects.toThrow('open');
  });

  it('a call slower than slowCallMs counts as a failure while the dependency completes nothing (hung)', async () => {
    const b = new CircuitBreaker('redis', { failureThreshold: 2, slowCallMs: 30, cooldownMs: 60_000 });
    const hung = () => b.run(() => sleep(500), infra, refusal);
    const calls = [hung(), hung()];
    await sleep(80);
    await new Promise((r) => setImmediate(r)); // after the breaker's own judgement of the late calls
    expect(b.state).toBe('open');
    await expect(hung()).rejects.toThrow('open');
    await Promise.all(calls);
  });

  it('calls late together while the dependency completes others (busy, not hung) leave the circuit closed', async () => {
    const b = new CircuitBreaker('cassandra', { failureThreshold: 2, slowCallMs: 30, cooldownMs: 60_000 });
    const queued = [0, 1, 2].map(() => b.run(() => sleep(100), infra, refusal));
    await sleep(10);
    await b.run(() => Promise.resolve('answered'), infra, refusal);
    await sleep(40);
    expect(b.state).toBe('closed');
    await Promise.all(queued);
    expect(b.state).toBe('closed');
  });

  it('replies that arrived while the event loop was blocked past slowCallMs do not open the circuit', async () => {
    // A dependency in another process that answers each byte at once; its replies wait in our socket until our loop is free.
    const echo = spawn(process.execPath, [
      '-e',
      "const s = require('node:net').createServer((c) => c.on('data', (d) => c.write(d))); s.listen(0, '127.0.0.1', () => console.log(s.address().port));",
    ]);
    try {
      const [line] = (await once(echo.stdout, 'data')) as [Buffer];
      const socket = createConnection(Number(line.toString()), '127.0.0.1');
      await once(socket, 'connect');
      const pending: (() => void)[] = [];
      socket.on('data', (d: Buffer) => {
        for (let i = 0; i < d.length; i++) pending.shift()?.();
      });
      const call = () => new Promise<void>((resolve) => (pending.push(resolve), socket.write('x')));
      const b = new CircuitBreaker('redis', { failureThreshold: 2, slowCallMs: 30, cooldownMs: 60_000 });
      const calls = [0, 1, 2].map(() => b.run(call, infra, refusal));
      blockEventLoop(100);
      await Promise.all(calls);
      await sleep(20);
      expect(b.state).toBe('closed');
      socket.destroy();
    } finally {
      echo.kill();
    }
  });
});
