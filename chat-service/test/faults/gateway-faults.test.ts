import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cassandraMessageReader, checkHistory, History, waitForZeroLag } from '@chat/testing/history-checker';
import { startGateway, startSystem, type GatewayProcess, type TestSystem } from '../support/system.js';
import { createGroup, openDevice, reportRecovery, Traffic, uid, type Device } from './support/traffic.js';

// Gateway faults under live traffic through the real SDK, checked by the history checker:
// SIGKILL mid-burst, SIGTERM (drain), SIGSTOP for 30 s.
let sys: TestSystem;
let devices: Device[] = [];
let gatewaySeq = 0;

beforeAll(async () => {
  // A 30 s SIGSTOP under this traffic leaves the frozen gateway's clients about 1,000 messages
  // behind: a resume limit below that makes their catch-up always exceed it (a live connection's
  // gap is filled whatever its size; only a resume that far behind is answered resync).
  sys = await startSystem(3, { env: { RESUME_MAX_MESSAGES: '500' } });
}, 180_000);

afterEach(() => {
  for (const d of devices) d.client.close();
  devices = [];
});

afterAll(async () => {
  await sys?.close();
});

/** Replaces a stopped gateway with a fresh one (so the next test has three again). */
async function replace(gw: GatewayProcess): Promise<GatewayProcess> {
  const fresh = await startGateway(sys.env, `${gw.id}-r${++gatewaySeq}`);
  sys.gateways[sys.gateways.indexOf(gw)] = fresh;
  return fresh;
}

/**
 * Seven devices of six members of one group: three users start on gateway `target`, the others on
 * the two other gateways, plus a second device of the first user elsewhere. Each client's URL list
 * moves it to the next gateway when it loses its connection.
 */
async function scenario(name: string, target: number) {
  const history = new History(name);
  const users = Array.from({ length: 6 }, (_, i) => uid(`u${i}`));
  const conv = await createGroup(sys, users);
  const urls = (first: number) => [0, 1, 2].map((k) => sys.gateways[(first + k) % 3]!.url);
  const others = [(target + 1) % 3, (target + 2) % 3];
  const onTarget = users.slice(0, 3).map((u) => openDevice(sys, history, u, urls(target), [conv]));
  const elsewhere = [
    ...users.slice(3).map((u, i) => openDevice(sys, history, u, urls(others[i % 2]!), [conv])),
    openDevice(sys, history, users[0]!, urls(others[1]!), [conv]),
  ];
  devices = [...onTarget, ...elsewhere];
  await Promise.all(devices.map((d) => d.client.connect()));
  expect(onTarget.every((d) => d.client.hello?.gateway_id === sys.gateways[target]!.id)).toBe(true);
  return { history, conv, onTarget, elsewhere };
}

async function settleAndCheck(history: History, conv: string) {
  await waitForZeroLag(sys.kafka, sys.env.SEQUENCER_GROUP_ID!, sys.topic, 60_000);
  return checkHistory(history, { readStored: cassandraMessageReader(sys.cassandra), conversations: [conv], settleMs: 30_000 });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('gateway faults', () => {
  it('G1/G2/G3/G5 under SIGKILL of a gateway mid-burst: clients move to another gateway, resend with the same client_msg_id; nothing lost, shown twice or reordered', async () => {
    const name = 'SIGKILL gateway mid-burst';
    const target = 0;
    const { history, conv, onTarget } = await scenario(name, target);
    const traffic = new Traffic(history, devices, conv, { intervalMs: 50 }).start();
    await sleep(1_500);
    const victim = sys.gateways[target]!;
    const killedAt = Date.now();
    await victim.stop('SIGKILL');
    const recoveryMs = await traffic.recovered(killedAt, 30_000, onTarget);
    reportRecovery(name, 'every client of the killed gateway acked again after', recoveryMs);
    await sleep(1_000);
    await traffic.stop();
    await replace(victim);

    const result = await settleAndCheck(history, conv);
    expect(result.violations).toEqual([]);
    expect(result).toMatchObject({ lost: 0, duplicated: 0, reordered: 0, gaps: 0, undelivered: 0, unexplained: 0 });
    expect(result.acked).toBeGreaterThan(100);
    expect(onTarget.every((d) => d.client.hello?.gateway_id !== victim.id)).toBe(true);
  }, 120_000);

  it('G1/G2/G4 under SIGTERM of a gateway: it drains, clients move, every send is acked (nothing indeterminate)', async () => {
    const name = 'SIGTERM gateway (drain)';
    const target = 1;
    const { history, conv, onTarget } = await scenario(name, target);
    const traffic = new Traffic(history, devices, conv, { intervalMs: 50 }).start();
    await sleep(1_500);
    const victim = sys.gateways[target]!;
    const stoppedAt = Date.now();
    const drained = victim.stop('SIGTERM');
    const recoveryMs = await traffic.recovered(stoppedAt, 30_000, onTarget);
    reportRecovery(name, 'every client of the draining gateway acked again after', recoveryMs);
    await drained;
    await sleep(1_000);
    await traffic.stop();
    await replace(victim);

    const result = await settleAndCheck(history, conv);
    expect(result.violations).toEqual([]);
    expect(result).toMatchObject({ lost: 0, duplicated: 0, reordered: 0, indeterminate: 0, failed: 0, gaps: 0, undelivered: 0, unexplained: 0 });
    expect(result.acked).toBe(traffic.sent);
  }, 120_000);

  it('G2/G3/G8 under SIGSTOP of a gateway for 30 s: clients elsewhere keep sending, the frozen ones catch up after SIGCONT', async () => {
    const name = 'SIGSTOP gateway 30 s';
    const target = 2;
    const { history, conv, onTarget, elsewhere } = await scenario(name, target);
    const traffic = new Traffic(history, devices, conv, { intervalMs: 100 }).start();
    await sleep(1_000);
    const victim = sys.gateways[target]!;
    const stoppedAt = Date.now();
    victim.child.kill('SIGSTOP');
    try {
      // The others are not held up by the frozen gateway (its routing entries lapse within SESSION_TTL_SECONDS).
      const othersMs = await traffic.recovered(stoppedAt + 1_000, 15_000, elsewhere);
      reportRecovery(name, 'clients on other gateways acked again (from 1 s into the pause) after', othersMs);
      await sleep(Math.max(0, stoppedAt + 30_000 - Date.now()));
    } finally {
      victim.child.kill('SIGCONT');
    }
    const resumedAt = Date.now();
    const recoveryMs = await traffic.recovered(resumedAt, 60_000, onTarget);
    reportRecovery(name, 'every client of the frozen gateway acked again after SIGCONT in', recoveryMs);
    await sleep(1_000);
    await traffic.stop();

    const result = await settleAndCheck(history, conv);
    if (!result.ok) {
      // What the frozen gateway's clients hold, to tell a stuck gap fill from missing deliveries.
      for (const d of onTarget) {
        const raw = d.log.rawLog.filter((m) => m.conversation_id === conv).map((m) => m.seq);
        const shown = d.log.shownIn(conv).map((m) => m.seq);
        console.log(
          `diagnosis[${name}]: ${d.log.deviceId} state=${d.client.state} gateway=${d.client.hello?.gateway_id} raw=${raw.length} (max seq ${Math.max(0, ...raw)})` +
            ` shown=${shown.length} (max seq ${Math.max(0, ...shown)}) positions=${JSON.stringify(d.client.positions())} pending_sends=${d.client.pendingSends().length}`,
        );
      }
    }
    expect(result.violations).toEqual([]);
    expect(result).toMatchObject({ lost: 0, duplicated: 0, reordered: 0, gaps: 0, undelivered: 0, unexplained: 0 });
  }, 150_000);
});
