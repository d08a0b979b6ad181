import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SendRecord } from '@chat/testing/history-checker';
import { cassandraMessageReader, checkHistory, History, waitForZeroLag } from '@chat/testing/history-checker';
import { SENTINEL_DOWN_AFTER_MS } from '@chat/deploy/local/replicated/topology';
import { crash, healthy, redisMasterNode, restart, secs, waitFor } from './support/faults.js';
import { ReplicatedStack } from './support/stack.js';

/** The stated bound (docs/OPERATIONS.md): delivery and presence answer again within this long after the master dies. */
const RECOVERY_BOUND_MS = 20_000;
let stack: ReplicatedStack;
let killed: string | undefined;

beforeAll(async () => {
  await healthy();
  stack = await ReplicatedStack.start({ presence: true });
});

afterAll(async () => {
  await stack?.close();
  if (killed) {
    // It comes back empty; the sentinels turn it into a replica of the promoted one.
    await restart(killed);
    await healthy(60_000);
  }
});

describe('replicated Redis: Sentinel failover', () => {
  it('G2/G4/G7 under SIGKILL of the Redis master (Sentinel promotes the replica): delivery and presence recover within 20 s, nothing lost or shown twice', async () => {
    const history = new History('redis master SIGKILL + sentinel failover (replicated)');
    const [alice, bob] = ['alice', 'bob'].map((n) => stack.user(n)) as [string, string];
    const conv = await stack.createGroup(alice, [alice, bob]);
    const a = await stack.device(history, alice, conv);
    const b = await stack.device(history, bob, conv);
    const deliveredAt = new Map<string, number>();
    b.on('message', (m) => deliveredAt.set(m.client_msg_id, Date.now()));

    // Presence: bob asks for alice's state every 250 ms.
    const polls: { startedAt: number; endedAt: number; online: boolean }[] = [];
    let stop = false;
    const poller = (async () => {
      while (!stop) {
        const startedAt = Date.now();
        const online = await b.request({ type: 'presence.sub', user_ids: [alice] }, { timeoutMs: 3000 }).then(
          (f) => f.type === 'presence' && f.users.some((u) => u.user_id === alice && u.online),
          () => false,
        );
        polls.push({ startedAt, endedAt: Date.now(), online });
        await new Promise((r) => setTimeout(r, 250));
      }
    })();
    await waitFor(() => polls.some((p) => p.online), 15_000, 'alice online for bob before the fault');

    // Alice sends one message after another (50 ms apart) until the system has recovered and 30 more are acked, at most 600.
    const records: SendRecord[] = [];
    let killedAt = Infinity;
    const sender = (async () => {
      for (let i = 0; i < 600 && !stop; i++) {
        const id = `${alice}-${i}`;
        const p = history.send(a, alice, conv, `m ${id}`, id);
        records.push(history.sends[history.sends.length - 1]!);
        await p;
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    await waitFor(() => records.filter((r) => r.outcome === 'ok').length >= 40, 60_000, '40 acked sends before the fault');

    const master = await redisMasterNode();
    killedAt = await crash(master);
    killed = master;
    let promotedAt = 0;
    await waitFor(async () => (await redisMasterNode().catch(() => master)) !== master, 60_000, 'the sentinels to promote the replica').then(
      () => (promotedAt = Date.now()),
    );

    const deliveryRecovered = () => {
      const t = records.filter((r) => r.startedAt >= killedAt && deliveredAt.has(r.clientMsgId)).map((r) => deliveredAt.get(r.clientMsgId)!);
      return t.length > 0 ? Math.min(...t) - killedAt : undefined;
    };
    const presenceRecovered = () => {
      const t = polls.filter((p) => p.startedAt >= killedAt && p.online).map((p) => p.endedAt);
      return t.length > 0 ? Math.min(...t) - killedAt : undefined;
    };
    await waitFor(() => deliveryRecovered() !== undefined && presenceRecovered() !== undefined, 60_000, 'delivery and presence after the failover');
    const ackedAfter = () => records.filter((r) => r.startedAt >= killedAt + (deliveryRecovered() ?? 0) && r.outcome === 'ok').length;
    await waitFor(() => ackedAfter() >= 30, 60_000, '30 acked sends after recovery');
    stop = true;
    await Promise.all([sender, poller]);

    const delivery = deliveryRecovered()!;
    const presence = presenceRecovered()!;
    console.log(
      `[replicated] redis: killed master ${master}; sentinels promoted the replica after ${secs(promotedAt - killedAt)} (down-after ${secs(SENTINEL_DOWN_AFTER_MS)}); ` +
        `delivery recovered after ${secs(delivery)}, presence after ${secs(presence)}; ${records.length} sends, ${records.filter((r) => r.outcome === 'ok').length} acked`,
    );

    await waitForZeroLag(stack.kafka, stack.groupId, stack.topic, 90_000);
    const result = await checkHistory(history, { readStored: cassandraMessageReader(stack.cassandra), settleMs: 30_000 });
    expect(result.violations).toEqual([]);
    expect(result).toMatchObject({ lost: 0, duplicated: 0, reordered: 0, gaps: 0, undelivered: 0, unexplained: 0 });
    expect(records.filter((r) => r.outcome === 'failed')).toEqual([]);
    expect(records.slice(-20).every((r) => r.outcome === 'ok')).toBe(true);
    expect(delivery).toBeLessThan(RECOVERY_BOUND_MS);
    expect(presence).toBeLessThan(RECOVERY_BOUND_MS);
  });
});
