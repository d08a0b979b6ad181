import { ChatError } from '@chat/protocol';
import { createLogger } from '@chat/server/logger';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { GatewayPublisher } from './gateway-publisher.js';
import type { Membership } from './membership.js';
import { TypingRelay } from './typing-relay.js';

const membership: Membership = {
  conversationsOf: (u) => Promise.resolve(new Set(u.startsWith('m') ? ['7'] : [])),
  membersOf: () => Promise.resolve(['m1', 'm2', 'm3', 'm4']),
};

describe('TypingRelay', () => {
  let sent: { users: readonly string[]; frame: string; exclude?: string }[];
  let relay: TypingRelay;
  beforeEach(() => {
    vi.useFakeTimers();
    sent = [];
    const publisher: GatewayPublisher = {
      deliver: (users, frame, exclude) => {
        sent.push({ users, frame, exclude });
        return Promise.resolve(1);
      },
    };
    relay = new TypingRelay(membership, publisher, createLogger('t', 'silent'), { ttlMs: 3000, throttleMs: 1000, maxTypists: 2 });
  });
  afterEach(() => {
    relay.close();
    vi.useRealTimers();
  });
  const states = (): string[] =>
    sent.map((s) => (JSON.parse(s.frame) as { user_id: string; state: string }).user_id + ':' + (JSON.parse(s.frame) as { state: string }).state);

  it('refuses non-members', async () => {
    await expect(relay.typing('x', '7', 'start')).rejects.toBeInstanceOf(ChatError);
  });

  it('throttles starts, expires 3 s after the last refresh, excludes the sender', async () => {
    expect(await relay.typing('m1', '7', 'start')).toBe(true);
    expect(await relay.typing('m1', '7', 'start')).toBe(false);
    await vi.advanceTimersByTimeAsync(1500);
    expect(await relay.typing('m1', '7', 'start')).toBe(true);
    await vi.advanceTimersByTimeAsync(2900);
    expect(states()).toEqual(['m1:start', 'm1:start']);
    await vi.advanceTimersByTimeAsync(200);
    expect(states()).toEqual(['m1:start', 'm1:start', 'm1:stop']);
    expect(sent[0]?.exclude).toBe('m1');
  });

  it('caps concurrent typists per conversation and frees the slot on stop', async () => {
    await relay.typing('m1', '7', 'start');
    await relay.typing('m2', '7', 'start');
    expect(await relay.typing('m3', '7', 'start')).toBe(false);
    expect(await relay.typing('m1', '7', 'stop')).toBe(true);
    expect(await relay.typing('m3', '7', 'start')).toBe(true);
    await vi.advanceTimersByTimeAsync(0);
    expect(states()).toEqual(['m1:start', 'm2:start', 'm1:stop', 'm3:start']);
  });
});
