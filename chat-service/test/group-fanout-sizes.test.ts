import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AckFrame, EverythingNew, InboxResultFrame, SyncResultFrame } from '@chat/protocol';
import { countInboxRows } from './support/inbox-rows.js';
import { RawClient } from './support/raw-client.js';
import { startSystem, waitFor, type TestSystem } from './support/system.js';

/**
 * Fanout at every size that matters, through several gateway processes: on write at or below
 * FANOUT_WRITE_MAX_MEMBERS (50), on read above it, up to the largest group (10,000 members with
 * 2,000 connections online). Every online device gets every message once, in seq order; inbox rows
 * are counted with CQL; offline members get everything through "everything new for me".
 */
let sys: TestSystem;
const run = Math.random().toString(36).slice(2, 8);
const GATEWAYS = 4;
const THRESHOLD = 50;
const MESSAGES = 5;

beforeAll(async () => {
  sys = await startSystem(GATEWAYS, { roles: 'api,sequencer,inbox' });
}, 180_000);

afterAll(async () => {
  await sys?.close();
});

/** Connects users round-robin over the gateways, `concurrency` upgrades at a time. */
async function connectAll(userIds: readonly string[], concurrency = 100): Promise<RawClient[]> {
  const out = new Array<RawClient>(userIds.length);
  let next = 0;
  const worker = async () => {
    while (next < userIds.length) {
      const i = next++;
      out[i] = await RawClient.connect(sys.gateways[i % GATEWAYS]!.url, sys.token(userIds[i]!));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return out;
}

/** Runs `fn` over items with at most `concurrency` at once. */
async function forEachLimited<T>(items: readonly T[], concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

/**
 * Creates a group in requests of at most 1,000 members, each repeated while it is refused as
 * temporarily unavailable (a Cassandra write timing out on a loaded machine; adding is idempotent).
 */
async function createGroup(owner: string, others: string[]): Promise<string> {
  const retrying = async <T>(call: () => Promise<{ status: number; body: T }>, ok: number): Promise<T> => {
    for (let attempt = 1; ; attempt++) {
      const res = await call();
      if (res.status === ok) return res.body;
      if (res.status !== 503 || attempt >= 5) throw new Error(`HTTP ${res.status}: ${JSON.stringify(res.body).slice(0, 200)}`);
      await new Promise((r) => setTimeout(r, 1000 * attempt));
    }
  };
  const first = others.slice(0, 999);
  const created = await retrying(
    () => sys.rest<{ conversation: { conversation_id: string } }>(owner, 'POST', '/v1/conversations', { kind: 'group', title: 'fanout', member_ids: first }),
    201,
  );
  const conv = created.conversation.conversation_id;
  for (let i = first.length; i < others.length; i += 1000) {
    const chunk = others.slice(i, i + 1000);
    await retrying(() => sys.rest(owner, 'POST', `/v1/conversations/${conv}/members`, { user_ids: chunk }), 200);
  }
  return conv;
}

const seqsIn = (frames: readonly { conversation_id: string; seq: number }[], conv: string) =>
  frames.filter((m) => m.conversation_id === conv).map((m) => m.seq);
const ALL = Array.from({ length: MESSAGES }, (_, i) => i + 1);

/**
 * One group of `size` members, `online` of them connected (the owner among them), MESSAGES sent by
 * the owner. `offlineSample` offline members are checked through REST and, `offlineWs` of them,
 * by coming online afterwards and asking over the WebSocket.
 */
async function fanoutCase(size: number, online: number, offlineSample: number, offlineWs: number): Promise<void> {
  const members = Array.from({ length: size }, (_, i) => `f${size}-${i}-${run}`);
  const owner = members[0]!;
  const conv = await createGroup(owner, members.slice(1));

  const clients = await connectAll(members.slice(0, online));
  try {
    // hello comes after the connection is routable: from here every message reaches these devices.
    const sender = clients[0]!;
    for (let i = 0; i < MESSAGES; i++) {
      expect((await sender.request<AckFrame>({ type: 'send', conversation_id: conv, client_msg_id: `f${i}`, body: `message ${i}` }, 30_000)).type).toBe('ack');
    }
    const received = (c: RawClient) => seqsIn(c.messages(conv), conv).length;
    await waitFor(() => clients.every((c) => received(c) >= MESSAGES), 90_000, `${online} devices to receive ${MESSAGES} messages`);
    // Give stragglers (a duplicate, a late copy) a moment to show up before judging exactly once.
    await new Promise((r) => setTimeout(r, 500));
    const wrong = clients.filter((c) => JSON.stringify(seqsIn(c.messages(conv), conv)) !== JSON.stringify(ALL));
    expect(wrong.map((c) => seqsIn(c.messages(conv), conv)).slice(0, 3)).toEqual([]);
    expect(new Set(clients.map((c) => c.messages(conv)[0]!.message_id)).size).toBe(1);

    // Inbox rows, counted with CQL: exactly one per member and message on write, none on read.
    const expectedRows = size <= THRESHOLD ? size * MESSAGES : 0;
    if (expectedRows > 0) await waitFor(async () => (await countInboxRows(sys.cassandra, conv, members)) >= expectedRows, 60_000, 'inbox rows');
    else
      await waitFor(
        async () => (await sys.rest<EverythingNew>(owner, 'GET', '/v1/inbox')).body.large.some((l) => l.conversation_id === conv && l.last_seq === MESSAGES),
        60_000,
        'every message stored',
      );
    expect(await countInboxRows(sys.cassandra, conv, members)).toBe(expectedRows);

    // Offline members: "everything new for me" has every message (small) or the latest seq to sync (large).
    const offline = members.slice(online);
    const step = Math.max(1, Math.floor(offline.length / offlineSample));
    const sample = offline.filter((_, i) => i % step === 0).slice(0, offlineSample);
    await forEachLimited(sample, 16, async (u) => {
      const page = (await sys.rest<EverythingNew>(u, 'GET', '/v1/inbox')).body;
      if (size <= THRESHOLD) {
        expect(seqsIn(page.messages, conv)).toEqual(ALL);
        expect(page.large).toEqual([]);
      } else {
        expect(seqsIn(page.messages, conv)).toEqual([]);
        expect(page.large).toEqual([{ conversation_id: conv, last_seq: MESSAGES, epoch: expect.any(String) }]);
      }
    });
    // Some come online: the inbox frame, then sync for what it lists as large.
    const later = await connectAll(sample.slice(0, offlineWs), 16);
    try {
      for (const c of later) {
        const page = await c.request<InboxResultFrame>({ type: 'inbox' });
        const seen = seqsIn(page.messages, conv);
        for (const l of page.large) {
          const synced = await c.request<SyncResultFrame>({ type: 'sync', positions: [{ conversation_id: l.conversation_id, seq: 0 }] });
          seen.push(...seqsIn(synced.conversations[0]!.messages, conv));
        }
        expect(seen).toEqual(ALL);
      }
    } finally {
      for (const c of later) c.close();
    }
  } finally {
    for (const c of clients) c.close();
  }
}

describe('group fanout by size, through several gateway processes', () => {
  it('3, 50 and 51 members (both sides of the threshold): exactly once, in order; N inbox rows per message on write, none on read; offline members get everything', async () => {
    await fanoutCase(3, 2, 1, 1);
    await fanoutCase(50, 25, 25, 5);
    await fanoutCase(51, 26, 25, 5);
  }, 180_000);

  it('1,000 members, 500 online', async () => {
    await fanoutCase(1000, 500, 100, 10);
  }, 180_000);

  it('10,000 members, 2,000 online over 4 gateway processes', async () => {
    await fanoutCase(10_000, 2000, 200, 20);
  }, 180_000);
});
