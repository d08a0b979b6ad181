import { describe, expect, it } from 'vitest';
import { ByteLru } from './byte-lru.js';

describe('ByteLru', () => {
  it('item 15: keeps the total under its byte budget, evicting the least recently used first', () => {
    const evicted: string[] = [];
    const lru = new ByteLru<string, string>(
      1000,
      (k, v) => k.length + v.length,
      (k) => evicted.push(k),
    );
    lru.set('a', 'x'.repeat(199));
    lru.set('b', 'x'.repeat(199));
    lru.set('c', 'x'.repeat(199));
    lru.get('a'); // a is now the most recently used
    lru.set('d', 'x'.repeat(199));
    lru.set('e', 'x'.repeat(199));
    lru.set('f', 'x'.repeat(199));
    expect(lru.bytes).toBeLessThanOrEqual(1000);
    expect(evicted).toEqual(['b']);
    expect(lru.has('a')).toBe(true);
  });

  it('item 15: does not keep an entry larger than a quarter of the budget, and re-measures values changed in place', () => {
    const lru = new ByteLru<string, number[]>(1000, (_k, v) => v.length * 10);
    expect(lru.set('huge', new Array(30).fill(0))).toBe(false);
    expect(lru.size).toBe(0);
    const list = [1, 2];
    lru.set('grows', list);
    list.push(...new Array(30).fill(0));
    lru.resize('grows');
    expect(lru.has('grows')).toBe(false);
    expect(lru.bytes).toBe(0);
  });
});
