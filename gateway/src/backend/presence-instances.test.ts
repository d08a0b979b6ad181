import { describe, expect, it } from 'vitest';
import { HttpPresenceClient } from './presence-client.js';
import { PresenceInstances } from './presence-instances.js';

const urls = ['http://127.0.0.1:8083', 'http://127.0.0.1:8087', 'http://127.0.0.1:8088'];
const instances = (list: readonly string[]) =>
  new PresenceInstances(
    list,
    list.map((url) => new HttpPresenceClient({ url, internalToken: 't' })),
  );

describe('PresenceInstances ranking', () => {
  it('ranks instances by key the same way whatever the order of the configured list', () => {
    const a = instances(urls);
    const b = instances([...urls].reverse());
    for (let i = 0; i < 200; i++) {
      const key = `conv|${i}`;
      expect(urls[a.rank(key)[0]!]).toBe([...urls].reverse()[b.rank(key)[0]!]);
    }
  });

  it('spreads keys over the instances, and removing one moves only the keys it had', () => {
    const all = instances(urls);
    const two = instances(urls.slice(0, 2));
    const counts = [0, 0, 0];
    let moved = 0;
    for (let i = 0; i < 3000; i++) {
      const key = `user|u${i}`;
      const first = all.rank(key)[0]!;
      counts[first]!++;
      if (first < 2 && two.rank(key)[0] !== first) moved++;
    }
    for (const c of counts) expect(c).toBeGreaterThan(800);
    expect(moved).toBe(0);
  });
});
