import { describe, expect, it } from 'vitest';
import { ChatConnectionError, ChatTimeoutError } from './errors.js';
import { RequestTracker } from './request-tracker.js';
import type { Timers } from './timers.js';

function manualTimers() {
  let now = 0;
  let id = 0;
  const due = new Map<number, { at: number; fn: () => void }>();
  const timers: Timers = {
    setTimeout: (fn, ms) => {
      due.set(++id, { at: now + ms, fn });
      return id;
    },
    clearTimeout: (h) => void due.delete(h as number),
    now: () => now,
  };
  const advance = (ms: number) => {
    now += ms;
    for (const [k, t] of [...due]) {
      if (t.at <= now) {
        due.delete(k);
        t.fn();
      }
    }
  };
  return { timers, advance, pending: () => due.size };
}

describe('RequestTracker', () => {
  it('correlates replies by ref', async () => {
    const { timers, pending } = manualTimers();
    const t = new RequestTracker(timers);
    const ref = t.nextRef();
    const p = t.track({ type: 'ping', ref }, { timeoutMs: 1000, resendOnReconnect: true });
    expect(t.unsent().map((f) => f.ref)).toEqual([ref]);
    t.markSent(ref);
    expect(t.resolve('nope', { type: 'pong', ref: 'nope' })).toBe(false);
    expect(t.resolve(ref, { type: 'pong', ref })).toBe(true);
    await expect(p).resolves.toEqual({ type: 'pong', ref });
    expect(pending()).toBe(0);
  });

  it('times out', async () => {
    const { timers, advance } = manualTimers();
    const t = new RequestTracker(timers);
    const p = t.track({ type: 'ping', ref: t.nextRef() }, { timeoutMs: 500, resendOnReconnect: true });
    advance(499);
    expect(t.size).toBe(1);
    advance(1);
    await expect(p).rejects.toBeInstanceOf(ChatTimeoutError);
    expect(t.size).toBe(0);
  });

  it('on connection loss, resendable requests become unsent and the others reject', async () => {
    const { timers } = manualTimers();
    const t = new RequestTracker(timers);
    const a = t.nextRef();
    const b = t.nextRef();
    void t.track({ type: 'history', ref: a, conversation_id: '1' }, { timeoutMs: 1000, resendOnReconnect: true });
    const pb = t.track({ type: 'sync', ref: b, positions: [] }, { timeoutMs: 1000, resendOnReconnect: false });
    t.markSent(a);
    t.markSent(b);
    t.connectionLost();
    await expect(pb).rejects.toBeInstanceOf(ChatConnectionError);
    expect(t.unsent().map((f) => f.ref)).toEqual([a]);
  });
});
