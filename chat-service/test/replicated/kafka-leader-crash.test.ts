import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cassandraMessageReader, checkHistory, History, waitForZeroLag } from '@chat/testing/history-checker';
import { conversationPartitionLeader, crash, firstAckAfter, healthy, longestAckGap, restart, secs, sendLoop, waitFor } from './support/faults.js';
import { ReplicatedStack } from './support/stack.js';

let stack: ReplicatedStack;
let killed: string | undefined;

beforeAll(async () => {
  await healthy();
  stack = await ReplicatedStack.start();
});

afterAll(async () => {
  await stack?.close();
  // Leave the cluster whole for the next file.
  if (killed) await restart(killed);
});

describe('replicated Kafka: SIGKILL of the partition leader', () => {
  it("G1/G2/G3 under SIGKILL of the leader broker of the conversation's partition mid-sends (RF 3, min ISR 2): no acked message lost, sends keep succeeding", async () => {
    const history = new History('kafka leader SIGKILL (replicated)');
    const [alice, bob, carol] = ['alice', 'bob', 'carol'].map((n) => stack.user(n)) as [string, string, string];
    const conv = await stack.createGroup(alice, [alice, bob, carol]);
    const [a, b] = [await stack.device(history, alice, conv), await stack.device(history, bob, conv)];
    await stack.device(history, carol, conv); // a recipient only

    // One acked send puts the conversation's partition on the map; its leader is the broker to kill.
    await history.send(a, alice, conv, 'first', `${alice}-first`);
    const { partition, leader } = await conversationPartitionLeader(stack.kafka, stack.topic);

    const perSender = 150;
    const loop = sendLoop(
      history,
      conv,
      [
        { userId: alice, client: a },
        { userId: bob, client: b },
      ],
      perSender,
    );
    await waitFor(() => loop.acked() >= 60, 60_000, '60 acked sends before the fault');
    const killedAt = await crash(leader);
    killed = leader;
    await loop.done;

    const afterKill = loop.records.filter((r) => r.startedAt >= killedAt);
    const recovery = firstAckAfter(loop.records, killedAt);
    const stall = longestAckGap(loop.records, killedAt);
    console.log(
      `[replicated] kafka: killed ${leader} (leader of partition ${partition}); ${afterKill.length} sends started after the kill, ` +
        `${afterKill.filter((r) => r.outcome === 'ok').length} acked; first ack of a send started after the kill ${secs(recovery)}, longest ack gap ${secs(stall)}`,
    );

    await waitForZeroLag(stack.kafka, stack.groupId, stack.topic, 90_000);
    const result = await checkHistory(history, { readStored: cassandraMessageReader(stack.cassandra), settleMs: 30_000 });
    expect(result.violations).toEqual([]);
    expect(result).toMatchObject({ lost: 0, duplicated: 0, reordered: 0, gaps: 0, undelivered: 0, unexplained: 0 });
    // Sends keep succeeding on the two remaining brokers: nothing refused, the last sends all acked.
    expect(loop.records.filter((r) => r.outcome === 'failed')).toEqual([]);
    expect(afterKill.length).toBeGreaterThan(0);
    expect(loop.records.slice(-20).every((r) => r.outcome === 'ok')).toBe(true);
    expect(recovery).toBeLessThan(30_000);
  });
});
