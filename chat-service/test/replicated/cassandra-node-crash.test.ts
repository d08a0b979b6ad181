import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cassandraMessageReader, checkHistory, History, waitForZeroLag } from '@chat/testing/history-checker';
import { crash, firstAckAfter, healthy, longestAckGap, restart, secs, sendLoop, waitFor } from './support/faults.js';
import { ReplicatedStack } from './support/stack.js';

// The seed and first contact point: the node clients met first.
const VICTIM = 'cassandra-1';
let stack: ReplicatedStack;
let killed = false;

beforeAll(async () => {
  await healthy();
  stack = await ReplicatedStack.start();
});

afterAll(async () => {
  await stack?.close();
  if (killed) {
    const took = await restart(VICTIM);
    console.log(`[replicated] cassandra: ${VICTIM} restarted and answering in ${secs(took)}`);
  }
});

describe('replicated Cassandra: SIGKILL of one node', () => {
  it('G1/G2/G3 under SIGKILL of one of 3 Cassandra nodes (RF 3, LOCAL_QUORUM) during sends and history reads: writes and reads go on, nothing lost', async () => {
    const history = new History('cassandra node SIGKILL (replicated)');
    const [alice, bob, carol] = ['alice', 'bob', 'carol'].map((n) => stack.user(n)) as [string, string, string];
    const conv = await stack.createGroup(alice, [alice, bob, carol]);
    const [a, b, c] = [await stack.device(history, alice, conv), await stack.device(history, bob, conv), await stack.device(history, carol, conv)];

    // Reads: carol pages the conversation's history over and over while the others send.
    const reads: { at: number; ok: boolean }[] = [];
    let reading = true;
    const reader = (async () => {
      while (reading) {
        const ok = await c.history(conv, { limit: 50 }).then(
          (r) => r.type === 'history.result',
          () => false,
        );
        reads.push({ at: Date.now(), ok });
        await new Promise((r) => setTimeout(r, 100));
      }
    })();

    const loop = sendLoop(
      history,
      conv,
      [
        { userId: alice, client: a },
        { userId: bob, client: b },
      ],
      150,
    );
    await waitFor(() => loop.acked() >= 60, 60_000, '60 acked sends before the fault');
    const killedAt = await crash(VICTIM);
    killed = true;
    await loop.done;
    reading = false;
    await reader;

    const readsAfter = reads.filter((r) => r.at >= killedAt);
    const okReads = readsAfter.filter((r) => r.ok).map((r) => r.at);
    let readGap = okReads.length > 0 ? okReads[0]! - killedAt : Infinity;
    for (let i = 1; i < okReads.length; i++) readGap = Math.max(readGap, okReads[i]! - okReads[i - 1]!);
    const afterKill = loop.records.filter((r) => r.startedAt >= killedAt);
    const writeGap = longestAckGap(loop.records, killedAt);
    console.log(
      `[replicated] cassandra: killed ${VICTIM}; ${afterKill.length} sends started after the kill, ${afterKill.filter((r) => r.outcome === 'ok').length} acked, ` +
        `first ack ${secs(firstAckAfter(loop.records, killedAt))}, longest ack gap ${secs(writeGap)}; ` +
        `${readsAfter.length} history reads after the kill, ${okReads.length} ok, longest gap between good reads ${secs(readGap)}`,
    );

    await waitForZeroLag(stack.kafka, stack.groupId, stack.topic, 90_000);
    const result = await checkHistory(history, { readStored: cassandraMessageReader(stack.cassandra), settleMs: 30_000 });
    expect(result.violations).toEqual([]);
    expect(result).toMatchObject({ lost: 0, duplicated: 0, reordered: 0, gaps: 0, undelivered: 0, unexplained: 0 });
    // Writes and reads go on with two of three replicas: nothing refused, the last ones succeed, no long stall.
    expect(loop.records.filter((r) => r.outcome === 'failed')).toEqual([]);
    expect(loop.records.slice(-20).every((r) => r.outcome === 'ok')).toBe(true);
    expect(readsAfter.slice(-5).every((r) => r.ok)).toBe(true);
    expect(writeGap).toBeLessThan(15_000);
    expect(readGap).toBeLessThan(15_000);
  });
});
