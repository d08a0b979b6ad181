import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ExpiryQueue, type Expiring } from './expiry-queue.js';

interface Entry extends Expiring {
  name: string;
}

const entry = (name: string, expiresAt: number): Entry => ({ name, expiresAt, expiryIndex: -1 });

describe('ExpiryQueue', () => {
  let expired: string[];
  let queue: ExpiryQueue<Entry>;

  beforeEach(() => {
    vi.useFakeTimers({ now: 1_000_000 });
    expired = [];
    queue = new ExpiryQueue<Entry>(
      (e) => e,
      (e) => expired.push(`${e.name}@${Date.now()}`),
    );
  });
  afterEach(() => {
    queue.stop();
    vi.useRealTimers();
  });

  it('expires each entry at its own deadline, not before, in deadline order', () => {
    queue.add(entry('c', 1_003_000));
    queue.add(entry('a', 1_001_000));
    queue.add(entry('b', 1_002_000));
    vi.advanceTimersByTime(999);
    expect(expired).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(expired).toEqual(['a@1001000']);
    vi.advanceTimersByTime(2_000);
    expect(expired).toEqual(['a@1001000', 'b@1002000', 'c@1003000']);
    expect(queue.size).toBe(0);
  });

  it('an entry whose deadline moved later (a refreshed token) expires at the new deadline only', () => {
    const refreshed = entry('refreshed', 1_001_000);
    queue.add(refreshed);
    queue.add(entry('other', 1_002_000));
    vi.advanceTimersByTime(500);
    refreshed.expiresAt = 1_060_000;
    queue.update(refreshed);
    vi.advanceTimersByTime(59_499);
    expect(expired).toEqual(['other@1002000']);
    vi.advanceTimersByTime(1);
    expect(expired).toEqual(['other@1002000', 'refreshed@1060000']);
  });

  it('an entry added with an earlier deadline than the armed one re-arms the timer', () => {
    queue.add(entry('late', 1_050_000));
    queue.add(entry('early', 1_000_100));
    vi.advanceTimersByTime(100);
    expect(expired).toEqual(['early@1000100']);
  });

  it('a removed entry never expires and is not retained; removing twice is harmless', () => {
    const gone = entry('gone', 1_001_000);
    const kept = entry('kept', 1_001_000);
    queue.add(gone);
    queue.add(kept);
    queue.remove(gone);
    queue.remove(gone);
    expect(gone.expiryIndex).toBe(-1);
    expect(queue.size).toBe(1);
    vi.advanceTimersByTime(10_000);
    expect(expired).toEqual(['kept@1001000']);
  });

  it('a deadline already past expires on the next turn of the timers', () => {
    queue.add(entry('past', 999_000));
    expect(expired).toEqual([]);
    vi.advanceTimersByTime(0);
    expect(expired).toEqual(['past@1000000']);
  });

  it('refuses to queue an entry twice', () => {
    const e = entry('e', 1_001_000);
    queue.add(e);
    expect(() => queue.add(e)).toThrow(/already queued/);
  });

  it('keeps heap order through random adds, updates and removes (checked against a sort)', () => {
    let seed = 7;
    const random = (): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const live = new Set<Entry>();
    for (let i = 0; i < 2_000; i++) {
      const e = entry(`e${i}`, 1_000_000 + Math.floor(random() * 100_000) + 1);
      queue.add(e);
      live.add(e);
      if (random() < 0.3) {
        const victim = [...live][Math.floor(random() * live.size)]!;
        if (random() < 0.5) {
          queue.remove(victim);
          live.delete(victim);
        } else {
          victim.expiresAt += Math.floor(random() * 50_000);
          queue.update(victim);
        }
      }
    }
    expect(queue.size).toBe(live.size);
    vi.advanceTimersByTime(300_000);
    // Every live entry expires once, in deadline order, at its own deadline (the fake clock's time).
    const expectedOrder = [...live].sort((x, y) => x.expiresAt - y.expiresAt).map((e) => `${e.name}@${e.expiresAt}`);
    expect(expired.map((s) => s.split('@')[1])).toEqual(expectedOrder.map((s) => s.split('@')[1]));
    expect(new Set(expired)).toEqual(new Set(expectedOrder));
  });
});
