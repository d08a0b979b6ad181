import cassandra from 'cassandra-driver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allCommitted, committedTotal, internalSend, storedAtLeast, storedRows } from './support/sequencer-probe.js';
import { startChatServiceProcess, startSystem, waitFor, type ChildProcessHandle, type TestSystem } from './support/system.js';

let sys: TestSystem;
const sequencers: ChildProcessHandle[] = [];
const uid = (name: string) => `${name}-${Math.random().toString(36).slice(2, 8)}`;

beforeAll(async () => {
  // The API runs in-process; the sequencer is the real chat-service main in a child process we can SIGKILL.
  sys = await startSystem(0, { roles: 'api' });
}, 180_000);

afterAll(async () => {
  for (const s of sequencers) await s.stop('SIGKILL');
  await sys?.close();
});

async function startSequencer(): Promise<ChildProcessHandle> {
  const s = await startChatServiceProcess({ ...sys.env, CHAT_SERVICE_ROLES: 'sequencer' });
  sequencers.push(s);
  return s;
}

describe('sequencer crash and replay', () => {
  it('item 3: a sequencer SIGKILLed mid-backlog and restarted stores every acked message exactly once, seqs 1..N', async () => {
    const N = 5000;
    const [alice, bob] = [uid('alice'), uid('bob')];
    const created = await sys.rest<{ conversation: { conversation_id: string } }>(alice, 'POST', '/v1/conversations', {
      kind: 'group',
      title: 'backlog',
      member_ids: [alice, bob],
    });
    const conv = created.body.conversation.conversation_id;

    // The backlog: N sends acked while no sequencer runs (small records, so one fetch holds thousands).
    const results = await internalSend(
      sys,
      Array.from({ length: N }, (_, i) => ({ user_id: alice, conversation_id: conv, client_msg_id: `b${i}`, body: `m${i}` })),
    );
    const acked = results.map((r) => ('ok' in r ? r.ok.message_id : null));
    expect(acked.every((id) => id !== null)).toBe(true);

    const first = await startSequencer();
    await waitFor(() => storedAtLeast(sys, conv, 3000), 60_000, 'seq 3000 stored');
    await first.stop('SIGKILL');
    expect(await storedAtLeast(sys, conv, N)).toBe(false); // killed mid-way, with records left to replay
    // Offsets were committed chunk by chunk while it ran (not only after the whole fetch).
    expect(await committedTotal(sys)).toBeGreaterThanOrEqual(2000);

    await startSequencer();
    await waitFor(() => allCommitted(sys), 90_000, 'the restarted sequencer to commit the whole backlog');
    const rows = await storedRows(sys, conv);
    expect(rows).toHaveLength(N);
    expect(rows.map((r) => r.seq)).toEqual(Array.from({ length: N }, (_, i) => i + 1));
    expect(new Set(rows.map((r) => r.message_id)).size).toBe(N);
    expect(rows.map((r) => r.message_id).sort()).toEqual([...(acked as string[])].sort());
  }, 240_000);

  it('item 16: sequencer writes carry real-time timestamps, so an ordinary CQL delete issued afterwards takes effect', async () => {
    const [alice, bob] = [uid('alice'), uid('bob')];
    const created = await sys.rest<{ conversation: { conversation_id: string } }>(alice, 'POST', '/v1/conversations', {
      kind: 'group',
      title: 'delete',
      member_ids: [alice, bob],
    });
    const conv = created.body.conversation.conversation_id;
    if (sequencers.every((s) => s.child.exitCode !== null || s.child.signalCode !== null)) await startSequencer();
    const [result] = await internalSend(sys, [{ user_id: alice, conversation_id: conv, client_msg_id: 'to-delete', body: 'bye' }]);
    expect(result && 'ok' in result).toBe(true);
    await waitFor(async () => (await storedRows(sys, conv)).length === 1, 30_000, 'stored');
    // An ordinary delete (client-side timestamp = now), as a moderation tool would issue it.
    await sys.cassandra.execute('DELETE FROM messages WHERE conversation_id = ? AND bucket = 0 AND seq = 1', [cassandra.types.Long.fromString(conv)], {
      prepare: true,
    });
    expect(await storedRows(sys, conv)).toEqual([]);
  });
});
