import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cassandraMessageReader, checkHistory, History, waitForZeroLag } from '@chat/testing/history-checker';
import { committedTotal, internalSend, storedAtLeast } from '../support/sequencer-probe.js';
import { startChatServiceProcess, startSystem, waitFor, type ChildProcessHandle, type TestSystem } from '../support/system.js';
import { createGroup, openDevice, reportRecovery, uid, type Device } from './support/traffic.js';

// The sequencer as a real child process, SIGKILLed mid-way through a 5,000-message backlog of one
// conversation while a member's SDK client is connected; the history checker reads storage and
// what the member was shown. (sequencer-crash.test.ts proves the storage side alone, item 3.)
let sys: TestSystem;
const sequencers: ChildProcessHandle[] = [];
let devices: Device[] = [];

beforeAll(async () => {
  sys = await startSystem(1, { roles: 'api' });
}, 180_000);

afterEach(() => {
  for (const d of devices) d.client.close();
  devices = [];
});

afterAll(async () => {
  for (const s of sequencers) await s.stop('SIGKILL');
  await sys?.close();
});

async function startSequencer(): Promise<ChildProcessHandle> {
  const s = await startChatServiceProcess({ ...sys.env, CHAT_SERVICE_ROLES: 'sequencer' });
  sequencers.push(s);
  return s;
}

describe('sequencer faults', () => {
  it('G2/G3 under SIGKILL of the sequencer mid-backlog of 5,000 messages in one conversation and a restart: each stored and shown once, seqs 1..5,000', async () => {
    const name = 'SIGKILL sequencer mid-backlog';
    const N = 5000;
    const history = new History(name);
    const [alice, bob] = [uid('alice'), uid('bob')];
    const conv = await createGroup(sys, [alice, bob], 'backlog');
    const bobDevice = openDevice(sys, history, bob, [sys.gateways[0]!.url], [conv], { gapFillPageSize: 100 });
    devices = [bobDevice];
    await bobDevice.client.connect();

    // The backlog: N sends acked while no sequencer runs.
    const requests = Array.from({ length: N }, (_, i) => ({ user_id: alice, conversation_id: conv, client_msg_id: `b${i}`, body: `m${i}` }));
    const ops = requests.map((r) => history.begin(alice, conv, r.client_msg_id, r.body));
    const results = await internalSend(sys, requests);
    results.forEach((r, i) => ('ok' in r ? ops[i]!.ok(r.ok.message_id) : ops[i]!.failed(r.error.name, r.error.code)));
    expect(ops.every((o) => o.record.outcome === 'ok')).toBe(true);

    const first = await startSequencer();
    await waitFor(() => storedAtLeast(sys, conv, 2500), 60_000, 'seq 2500 stored');
    await first.stop('SIGKILL');
    expect(await storedAtLeast(sys, conv, N)).toBe(false); // killed with records left to replay
    expect(await committedTotal(sys)).toBeLessThan(N);

    const restartedAt = Date.now();
    await startSequencer();
    await waitForZeroLag(sys.kafka, sys.env.SEQUENCER_GROUP_ID!, sys.topic, 120_000);
    reportRecovery(name, 'backlog fully sequenced (lag 0) after the restart in', Date.now() - restartedAt);
    const result = await checkHistory(history, { readStored: cassandraMessageReader(sys.cassandra), conversations: [conv], settleMs: 60_000 });
    reportRecovery(name, 'the member was shown all 5,000 after the restart in', Date.now() - restartedAt);
    expect(result.violations).toEqual([]);
    expect(result).toMatchObject({ acked: N, stored: N, lost: 0, duplicated: 0, reordered: 0, gaps: 0, undelivered: 0, unexplained: 0 });
    expect(bobDevice.log.shownIn(conv).map((m) => m.seq)).toEqual(Array.from({ length: N }, (_, i) => i + 1));
  }, 300_000);
});
