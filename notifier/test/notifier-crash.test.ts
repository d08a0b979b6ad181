import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Producer } from '@chat/server/clients';
import { HANG, type RecordedPush } from '../src/dev/fake-fcm.js';
import {
  metricValue,
  publishSequenced,
  startNotifierProcess,
  startNotifierSystem,
  waitFor,
  type NotifierProcess,
  type NotifierSystem,
} from './support/notifier-system.js';
import { RedisKeys } from '@chat/server/redis';

// A real notifier process (notifier/dist/main.js) SIGKILLed in the middle of a burst: some
// windows pushed, some pushes in flight (FCM holding them unanswered), more messages on the stream
// before and while it is down. Restarted, it must push every message of every window exactly once,
// judged by what the fake FCM endpoint accepted.
const CONVERSATIONS = 24;
const ANSWERED_BEFORE_HANG = 8;
const LEASE_MS = 3000;

const uid = (name: string) => `${name}-${randomBytes(3).toString('hex')}`;
let ns: NotifierSystem;
let producer: Producer;
const processes: NotifierProcess[] = [];

beforeAll(async () => {
  ns = await startNotifierSystem({
    roles: 'api',
    notifierEnv: {
      NOTIFY_COLLAPSE_WINDOW_MS: '1000',
      NOTIFY_ONLINE_GRACE_MS: '1000',
      NOTIFIER_CLAIM_LEASE_MS: String(LEASE_MS),
      FCM_RETRY_BASE_MS: '100',
      FCM_RETRY_MAX_MS: '500',
    },
  });
  producer = ns.sys.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
}, 180_000);

afterAll(async () => {
  for (const p of processes) await p.stop('SIGKILL');
  await producer?.disconnect();
  await ns?.close();
});

/** The seqs a push announces: its window's `count` messages up to `last_seq`. */
function seqsOf(p: RecordedPush): number[] {
  const { count, last_seq: last } = p.message.data as { count: string; last_seq: string };
  return Array.from({ length: Number(count) }, (_, i) => Number(last) - Number(count) + 1 + i);
}

const sentMetric = async (p: NotifierProcess) => metricValue(await (await fetch(`${p.internalUrl}/metrics`)).text(), 'chat_notifier_pushes_sent_total');

describe('notifier crash', () => {
  it('a notifier SIGKILLed mid-burst and restarted pushes every message once: no window pushed twice, none missed', async () => {
    const pairs = await Promise.all(
      Array.from({ length: CONVERSATIONS }, async (_, i) => {
        const [sender, recipient] = [uid(`s${i}`), uid(`r${i}`)];
        const conversation = await ns.group(`burst ${i}`, [sender, recipient]);
        return { sender, conversation, token: await ns.device(recipient) };
      }),
    );
    const wave = (seqs: number[]) => Promise.all(pairs.map((p) => publishSequenced(ns, producer, p.conversation, p.sender, seqs)));

    // FCM accepts the first pushes, then holds every request unanswered.
    let answered = 0;
    ns.fake.answer = () => (answered++ < ANSWERED_BEFORE_HANG ? undefined : HANG);
    const first = await startNotifierProcess(ns);
    processes.push(first);
    await wave([1, 2]);
    await waitFor(
      () => ns.fake.hung().length > 0 && ns.fake.pushes.filter((p) => p.status === 200).length === ANSWERED_BEFORE_HANG,
      60_000,
      'some pushes accepted and some in flight',
    );
    // Every accepted push is settled (sent counts only settled windows): the kill hits in-flight pushes only.
    await waitFor(async () => (await sentMetric(first)) === ANSWERED_BEFORE_HANG, 30_000, 'the accepted pushes to be settled');
    await wave([3, 4]);
    await first.stop('SIGKILL');
    const hungAtKill = ns.fake.hung().length;
    await wave([5, 6]);

    ns.fake.answer = () => undefined;
    const second = await startNotifierProcess(ns);
    processes.push(second);
    const delivered = (token: string) => ns.fake.delivered(token).flatMap(seqsOf);
    await waitFor(() => pairs.every((p) => delivered(p.token).length >= 6), 120_000, 'every message of every conversation pushed after the restart');
    // Nothing more comes: every window is settled.
    await waitFor(async () => (await ns.sys.redis.zcard(new RedisKeys(ns.config.REDIS_KEY_PREFIX).notifyDue())) === 0, 30_000, 'every window settled');

    for (const p of pairs) {
      // Each message in exactly one accepted push, in order: no window pushed twice, none missed.
      expect(delivered(p.token)).toEqual([1, 2, 3, 4, 5, 6]);
    }
    expect(hungAtKill).toBeGreaterThan(0);
    console.log(
      `notifier crash: ${ANSWERED_BEFORE_HANG} pushes accepted and ${hungAtKill} in flight at the kill; ${ns.fake.pushes.filter((p) => p.status === 200).length} accepted in all for ${CONVERSATIONS} conversations × 6 messages`,
    );
  });
});
