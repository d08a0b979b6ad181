import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { internalSend, storedAtLeast } from '@chat/chat-service/testing/sequencer-probe';
import { RawClient } from '@chat/chat-service/testing/raw-client';
import type { RunningNotifier } from '../src/app.js';
import type { RecordedPush } from '../src/dev/fake-fcm.js';
import type { SuppressReason } from '../src/metrics.js';
import { startInProcessNotifier, startNotifierSystem, waitFor, type NotifierSystem } from './support/notifier-system.js';
import { RedisKeys } from '@chat/server/redis';

// Who gets a push, with real messages: sent through chat-service, sequenced, stored and streamed;
// read positions and mute stored through the REST API and the `read` frame; online devices on a
// real gateway. The notifier asks chat-service for recipients' state and sends with the real
// firebase-admin library to the local fake FCM endpoint.
const WINDOW_MS = 4000;
const GRACE_MS = 7000;

const uid = (name: string) => `${name}-${randomBytes(3).toString('hex')}`;
let ns: NotifierSystem;
let notifier: RunningNotifier;
let stopNotifier: () => Promise<void>;

beforeAll(async () => {
  ns = await startNotifierSystem({ gateways: 1, notifierEnv: { NOTIFY_COLLAPSE_WINDOW_MS: String(WINDOW_MS), NOTIFY_ONLINE_GRACE_MS: String(GRACE_MS) } });
  ({ notifier, close: stopNotifier } = await startInProcessNotifier(ns));
}, 180_000);

afterAll(async () => {
  await stopNotifier?.();
  await ns?.close();
});

const lastSeq = async (conversationId: string, member: string) =>
  (await ns.sys.rest<{ messages: { seq: number }[] }>(member, 'GET', `/v1/conversations/${conversationId}/messages`)).body.messages.at(-1)?.seq ?? 0;

/** Sends `n` messages from `sender` and waits until they are stored; resolves with the last seq. */
async function send(conversationId: string, sender: string, n: number): Promise<number> {
  const target = (await lastSeq(conversationId, sender)) + n;
  const results = await internalSend(
    ns.sys,
    Array.from({ length: n }, (_, i) => ({
      user_id: sender,
      conversation_id: conversationId,
      client_msg_id: `m-${randomBytes(6).toString('hex')}-${i}`,
      body: `secret text ${i}`,
    })),
  );
  expect(results.every((r) => 'ok' in r)).toBe(true);
  await waitFor(() => storedAtLeast(ns.sys, conversationId, target), 30_000, 'messages stored');
  return target;
}

type PushData = { conversation_id: string; count: string; last_seq: string; badge: string };
const pushes = (token: string, conversationId: string): RecordedPush[] =>
  ns.fake.delivered(token).filter((p) => (p.message.data as PushData).conversation_id === conversationId);
const data = (p: RecordedPush) => p.message.data as PushData;
const deferred = async () => (await notifier.metrics.deferred.get()).values[0]?.value ?? 0;
const suppressed = async (reason: SuppressReason) => (await notifier.metrics.suppressed.get()).values.find((v) => v.labels.reason === reason)?.value ?? 0;

describe('push decisions', () => {
  it('an offline member gets one collapsed push for a burst with the total unread as badge; the sender gets none; no text', async () => {
    const [alice, bob, dave] = [uid('alice'), uid('bob'), uid('dave')];
    const other = await ns.group('Other', [dave, bob]);
    const conv = await ns.group('Design team', [alice, bob]);
    const [aliceToken, bobPhone, bobTablet] = [await ns.device(alice), await ns.device(bob), await ns.device(bob)];
    await send(other, dave, 2);
    await send(conv, alice, 3);
    await waitFor(() => pushes(bobPhone, conv).length > 0 && pushes(bobTablet, conv).length > 0, 30_000, "the push to both of bob's devices");
    await waitFor(async () => (await ns.sys.redis.zcard(new RedisKeys(ns.config.REDIS_KEY_PREFIX).notifyDue())) === 0, 30_000, 'every window settled');
    for (const t of [bobPhone, bobTablet]) {
      const [push, ...more] = pushes(t, conv);
      expect(more).toEqual([]);
      // 3 unread here and 2 in the other conversation.
      expect(data(push!)).toMatchObject({ count: '3', last_seq: '3', badge: '5' });
      expect(push!.message.notification).toEqual({ title: 'Design team', body: '3 new messages in Design team' });
      expect(JSON.stringify(push!.message)).not.toContain('secret text');
    }
    expect(pushes(aliceToken, conv)).toEqual([]);
  });

  it('a member who read the conversation on another device gets none; a later unread message is pushed', async () => {
    const [alice, erin] = [uid('alice'), uid('erin')];
    const conv = await ns.group('read elsewhere', [alice, erin]);
    const erinPhone = await ns.device(erin);
    const before = await suppressed('read');
    const seq = await send(conv, alice, 2);
    // Erin's laptop reads both (REST, as any client does); her phone is offline.
    expect((await ns.sys.rest(erin, 'PUT', `/v1/conversations/${conv}/read`, { seq })).status).toBe(200);
    await waitFor(async () => (await suppressed('read')) > before, 30_000, 'the window to be decided');
    expect(pushes(erinPhone, conv)).toEqual([]);
    await send(conv, alice, 1);
    await waitFor(() => pushes(erinPhone, conv).length > 0, 30_000, 'the push of the unread message');
    expect(pushes(erinPhone, conv).map((p) => [data(p).count, data(p).last_seq])).toEqual([['1', '3']]);
  });

  it('a muted conversation gets none; unmuted, it is pushed again', async () => {
    const [alice, frank] = [uid('alice'), uid('frank')];
    const conv = await ns.group('muted', [alice, frank]);
    const frankPhone = await ns.device(frank);
    expect((await ns.sys.rest(frank, 'PUT', `/v1/conversations/${conv}/mute`, { muted: true })).status).toBe(200);
    const before = await suppressed('muted');
    await send(conv, alice, 2);
    await waitFor(async () => (await suppressed('muted')) > before, 30_000, 'the window to be decided');
    expect(pushes(frankPhone, conv)).toEqual([]);
    expect((await ns.sys.rest(frank, 'PUT', `/v1/conversations/${conv}/mute`, { muted: false })).status).toBe(200);
    await send(conv, alice, 1);
    await waitFor(() => pushes(frankPhone, conv).length > 0, 30_000, 'the push after unmuting');
    expect(pushes(frankPhone, conv).map((p) => data(p).last_seq)).toEqual(['3']);
  });

  it('a member removed before the window is due gets none', async () => {
    const [alice, ivan] = [uid('alice'), uid('ivan')];
    const conv = await ns.group('removed', [alice, ivan]);
    const ivanPhone = await ns.device(ivan);
    const before = await suppressed('not_member');
    await send(conv, alice, 1);
    expect((await ns.sys.rest(alice, 'DELETE', `/v1/conversations/${conv}/members/${ivan}`)).status).toBe(200);
    await waitFor(async () => (await suppressed('not_member')) > before, 30_000, 'the window to be decided');
    expect(pushes(ivanPhone, conv)).toEqual([]);
  });

  it('a member who comes online before the window is due gets the grace period too: reading then means no push', async () => {
    const [alice, lena] = [uid('alice'), uid('lena')];
    const conv = await ns.group('came online', [alice, lena]);
    const lenaPhone = await ns.device(lena);
    const [deferredBefore, readBefore] = [await deferred(), await suppressed('read')];
    await send(conv, alice, 1);
    // Offline when the notifier opened her window; her web client connects before it is due.
    await waitFor(
      async () => (await ns.sys.redis.zscore(`${ns.config.REDIS_KEY_PREFIX}notify:due`, `${conv}|${lena}`)) !== null,
      30_000,
      "Lena's window to open",
    );
    const lenaWeb = await RawClient.connect(ns.sys.gateways[0]!.url, ns.sys.token(lena));
    try {
      await waitFor(async () => (await deferred()) > deferredBefore, 30_000, 'the due window to be put off for the grace period');
      expect(pushes(lenaPhone, conv)).toEqual([]);
      const receipt = await lenaWeb.request({ type: 'read', conversation_id: conv, seq: 1 });
      expect(receipt.type).toBe('receipt');
      await waitFor(async () => (await suppressed('read')) > readBefore, 30_000, 'the window to be decided after the grace period');
      expect(pushes(lenaPhone, conv)).toEqual([]);
    } finally {
      lenaWeb.close();
    }
  });

  it('online members: one who reads within the grace period gets none; one who does not is pushed once the grace period is over', async () => {
    const [alice, gina, hank] = [uid('alice'), uid('gina'), uid('hank')];
    const conv = await ns.group('online', [alice, gina, hank]);
    const [ginaPhone, hankPhone] = [await ns.device(gina), await ns.device(hank)];
    const gateway = ns.sys.gateways[0]!;
    const [ginaWeb, hankWeb] = [await RawClient.connect(gateway.url, ns.sys.token(gina)), await RawClient.connect(gateway.url, ns.sys.token(hank))];
    try {
      const before = await suppressed('read');
      const sentAt = Date.now();
      await send(conv, alice, 1);
      // Both web clients receive it in real time; Gina reads it there, Hank leaves it unread.
      await waitFor(() => ginaWeb.messages(conv).length === 1 && hankWeb.messages(conv).length === 1, 15_000, 'real-time delivery');
      const receipt = await ginaWeb.request({ type: 'read', conversation_id: conv, seq: 1 });
      expect(receipt.type).toBe('receipt');
      await waitFor(() => pushes(hankPhone, conv).length > 0, 30_000, "the push to Hank's phone");
      const [push] = pushes(hankPhone, conv);
      // Not before the grace period, counted from when the notifier saw the message (after the send).
      expect(push!.at - sentAt).toBeGreaterThanOrEqual(GRACE_MS);
      expect(data(push!)).toMatchObject({ count: '1', last_seq: '1' });
      await waitFor(async () => (await suppressed('read')) > before, 30_000, "Gina's window to be decided");
      expect(pushes(ginaPhone, conv)).toEqual([]);
    } finally {
      ginaWeb.close();
      hankWeb.close();
    }
  });
});
