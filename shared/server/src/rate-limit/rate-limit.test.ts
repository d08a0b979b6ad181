import { describe, expect, it } from 'vitest';
import { rate } from '../config/parsers.js';
import { addressKey } from './address-key.js';
import { LocalWindows } from './local-windows.js';

describe('rate limit building blocks', () => {
  it('parses "<points>/<seconds>s" and refuses anything else', () => {
    expect(rate()('500/10s')).toEqual({ points: 500, durationSeconds: 10 });
    expect(rate()(' 1/1s ')).toEqual({ points: 1, durationSeconds: 1 });
    for (const bad of ['', '500', '500/10', '0/10s', '5/0s', '5/100000s', '-1/1s', '1.5/1s', '5/10m']) expect(() => rate()(bad)).toThrow();
  });

  it('keys IPv4 as is, IPv4-mapped IPv6 as IPv4, IPv6 by /64', () => {
    expect(addressKey('127.9.8.7')).toBe('127.9.8.7');
    expect(addressKey('::ffff:127.0.0.1')).toBe('127.0.0.1');
    expect(addressKey('0000:0000:0000:0000:0000:ffff:7f09:0807')).toBe('127.9.8.7');
    expect(addressKey('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:0db8:0001:0002:ffff:ffff:ffff:ffff')).toBe('2001:db8:1:2::/64');
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
    expect(addressKey('garbage:::x')).toBe('garbage:::x');
  });

  it('fixed windows: exact per key, nothing taken when refused, retry after the window, idle keys swept', () => {
    const w = new LocalWindows({ points: 3, durationSeconds: 10 });
    const t = Date.now();
    expect([w.take('a', 1, t + 1000), w.take('a', 2, t + 1000), w.take('a', 1, t + 2000)]).toEqual([0, 0, 9000]);
    expect(w.take('b', 4, t + 1000)).toBe(10_000);
    expect(w.take('b', 3, t + 1000)).toBe(0);
    expect(w.take('a', 1, t + 11_000)).toBe(0);
    w.sweep(t + 30_000);
    expect(w.slots.size).toBe(0);
  });
});
