import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rest } from './rest.js';
import { retryDelayMs } from './retry-hint.js';

// A real HTTP server on loopback that answers each request from a script: what chat-service says
// while a Cassandra circuit is open (503, 4101 retry: true), rate limited, or refused for good.
type Answer = { status: number; body: unknown; headers?: Record<string, string> };
let script: Answer[] = [];
let served = 0;
let server: Server;
let baseUrl: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    const a = script[Math.min(served++, script.length - 1)]!;
    res.writeHead(a.status, { 'content-type': 'application/json', ...a.headers });
    res.end(JSON.stringify(a.body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const env = { JWT_HS256_SECRET: 'x'.repeat(32), JWT_ISSUER: 'bench', JWT_AUDIENCE: 'chat' };
const unavailable: Answer = { status: 503, body: { error: { code: 4101, name: 'unavailable', message: 'cassandra unavailable', retry: true } } };
const created: Answer = { status: 201, body: { conversation: { conversation_id: '7' } } };

function restWith(answers: Answer[], attempts = 8) {
  script = answers;
  served = 0;
  const waits: number[] = [];
  const rest = new Rest(baseUrl, env, { attempts, baseMs: 100, capMs: 1000 }, async (ms) => void waits.push(ms));
  return { rest, waits };
}

describe('Rest retries what the server marks retriable', () => {
  it('retries 503 unavailable until it succeeds, counting the retries', async () => {
    const { rest, waits } = restWith([unavailable, unavailable, created]);
    expect(await rest.createGroup('alice', 'g', ['bob'])).toBe('7');
    expect([served, rest.retries, waits.length]).toEqual([3, 2, 2]);
    expect(rest.retriedBy).toEqual({ '503 unavailable': 2 });
    for (const [i, w] of waits.entries()) expect(w).toBeLessThanOrEqual(100 * 2 ** i);
  });

  it('waits at least the hint: retry_after_ms in the body, else the retry-after header', async () => {
    const limited: Answer = { status: 429, body: { error: { code: 4100, name: 'rate_limited', retry: true, retry_after_ms: 1500 } } };
    const headerOnly: Answer = { status: 503, body: 'not json', headers: { 'retry-after': '2' } };
    const { rest, waits } = restWith([limited, headerOnly, created]);
    await rest.createDirect('alice', 'bob');
    expect(waits[0]).toBeGreaterThanOrEqual(1500);
    expect(waits[1]).toBeGreaterThanOrEqual(2000);
  });

  it('does not retry a final answer, and gives up after the policy attempts', async () => {
    const forbidden: Answer = { status: 403, body: { error: { code: 4003, name: 'not_member', retry: false } } };
    const once = restWith([forbidden]);
    await expect(once.rest.call('alice', 'GET', '/v1/conversations/7')).rejects.toThrow(/-> 403/);
    expect([served, once.rest.retries]).toEqual([1, 0]);
    const always = restWith([unavailable], 3);
    await expect(always.rest.call('alice', 'GET', '/v1/conversations')).rejects.toThrow(/-> 503 \(attempt 3\)/);
    expect([served, always.rest.retries]).toEqual([3, 2]);
  });

  it('backs off exponentially with full jitter under the cap', () => {
    const policy = { attempts: 8, baseMs: 250, capMs: 10_000 };
    expect([0, 1, 2, 6].map((r) => retryDelayMs(r, 0, policy, () => 0.999))).toEqual([249, 499, 999, 9990]);
    expect(retryDelayMs(3, 5000, policy, () => 0)).toBe(5000);
  });
});
