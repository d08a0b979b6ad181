import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.js';
import { onShutdown } from './shutdown.js';

const log = createLogger('shutdown-test', 'silent');

function exits(): { codes: number[]; exit: (code: number) => void } {
  const codes: number[] = [];
  return { codes, exit: (code) => void codes.push(code) };
}

describe('onShutdown', () => {
  it('runs every step in order, then exits 0', async () => {
    const order: string[] = [];
    const { codes, exit } = exits();
    const stop = onShutdown(log, [async () => void order.push('drain'), () => void order.push('close')], { deadlineMs: 5000, exit, signals: [] });
    await stop('SIGTERM');
    expect(order).toEqual(['drain', 'close']);
    expect(codes).toEqual([0]);
  });

  it('runs the remaining steps after one fails, then exits 1', async () => {
    const order: string[] = [];
    const { codes, exit } = exits();
    const stop = onShutdown(log, [() => Promise.reject(new Error('drain failed')), () => void order.push('close')], { deadlineMs: 5000, exit, signals: [] });
    await stop('SIGTERM');
    expect(order).toEqual(['close']);
    expect(codes).toEqual([1]);
  });

  it('exits 1 at the deadline when a step hangs, and at once on a second signal', async () => {
    const { codes, exit } = exits();
    const stop = onShutdown(log, [() => new Promise(() => undefined)], { deadlineMs: 50, exit, signals: [] });
    void stop('SIGTERM');
    const deadline = Date.now() + 5000;
    while (codes.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(codes).toEqual([1]);
    await stop('SIGINT');
    expect(codes).toEqual([1, 1]);
  });
});
