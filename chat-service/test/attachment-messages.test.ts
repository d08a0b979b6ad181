import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Errors, type AckFrame, type ChatMessage, type ErrorFrame, type HistoryResultFrame, type SyncResultFrame } from '@chat/protocol';
import type { HistoryPage } from '@chat/protocol/internal';
import { AttachmentsClient, ChatClient, ChatRequestError, type ChatClientOptions } from '@chat/sdk';
import { RawClient } from './support/raw-client.js';
import { startSystem, waitFor, type TestSystem } from './support/system.js';

// Messages that reference attachments, end to end through the SDK, gateways, Kafka, the sequencer,
// Cassandra and the real S3-compatible store (S3Proxy): real-time, sync and history carry the
// metadata; a send naming an attachment it may not use is refused and stores nothing.
let sys: TestSystem;
const chats: ChatClient[] = [];
const raws: RawClient[] = [];
const uid = (name: string) => `${name}-${randomBytes(3).toString('hex')}`;

function chatClient(userId: string, gateway = 0): ChatClient {
  const c = new ChatClient({
    url: sys.gateways[gateway]!.url,
    getToken: () => sys.token(userId),
    WebSocketImpl: WebSocket as unknown as ChatClientOptions['WebSocketImpl'],
    reconnectBaseMs: 50,
  });
  chats.push(c);
  return c;
}

function attachmentsClient(userId: string): AttachmentsClient {
  return new AttachmentsClient({ baseUrl: sys.chatUrl, getToken: () => sys.token(userId) });
}

async function raw(userId: string, gateway = 0): Promise<RawClient> {
  const c = await RawClient.connect(sys.gateways[gateway]!.url, sys.token(userId));
  raws.push(c);
  return c;
}

async function group(owner: string, members: string[]): Promise<string> {
  const res = await sys.rest<{ conversation: { conversation_id: string } }>(owner, 'POST', '/v1/conversations', {
    kind: 'group',
    title: 'photos',
    member_ids: members,
  });
  expect(res.status).toBe(201);
  return res.body.conversation.conversation_id;
}

beforeAll(async () => {
  sys = await startSystem(2, { env: { ATTACHMENT_CONTENT_TYPES: 'image/png,image/jpeg,application/pdf' } });
}, 180_000);

afterAll(async () => {
  for (const c of chats) c.close();
  for (const c of raws) c.close();
  await sys?.close();
});

describe('messages with attachments', () => {
  it('upload through the pre-signed URL, send, and another member sees the metadata in real time, sync and history and downloads the bytes', async () => {
    const [alice, bob, eve] = [uid('alice'), uid('bob'), uid('eve')];
    const conv = await group(alice, [bob]);
    const photo = randomBytes(20_000);
    const doc = randomBytes(3_000);

    const aliceFiles = attachmentsClient(alice);
    const [a1, a2] = [
      await aliceFiles.upload(conv, photo, { contentType: 'image/png', filename: 'beach.png' }),
      await aliceFiles.upload(conv, doc, { contentType: 'application/pdf' }),
    ];
    expect(a1).toMatchObject({ conversation_id: conv, content_type: 'image/png', size: photo.length, filename: 'beach.png', state: 'uploaded' });

    const sender = chatClient(alice, 0);
    const receiver = chatClient(bob, 1);
    const shown: ChatMessage[] = [];
    receiver.on('message', (m) => shown.push(m));
    receiver.track(conv, 0);
    await Promise.all([sender.connect(), receiver.connect()]);
    const ack = await sender.send(conv, 'holiday pictures', { attachmentIds: [a1.attachment_id, a2.attachment_id] });
    // A photo without a caption: the body may be empty when there are attachments.
    const bare = await sender.send(conv, '', { attachmentIds: [a1.attachment_id] });

    const expected = [
      { attachment_id: a1.attachment_id, content_type: 'image/png', size: photo.length, filename: 'beach.png' },
      { attachment_id: a2.attachment_id, content_type: 'application/pdf', size: doc.length },
    ];
    await waitFor(() => shown.length === 2, 20_000, 'both messages in real time');
    expect(shown[0]).toMatchObject({ message_id: ack.message_id, body: 'holiday pictures', attachments: expected });
    expect(shown[1]).toMatchObject({ message_id: bare.message_id, body: '', attachments: [expected[0]] });

    // History (WebSocket and REST) and a resume from the start carry the same metadata.
    const bobRaw = await raw(bob, 0);
    const history = await bobRaw.request<HistoryResultFrame>({ type: 'history', conversation_id: conv });
    expect(history.messages.map((m) => m.attachments)).toEqual([expected, [expected[0]]]);
    const rest = await sys.rest<HistoryPage>(bob, 'GET', `/v1/conversations/${conv}/messages`);
    expect(rest.body.messages.map((m) => m.attachments)).toEqual([expected, [expected[0]]]);
    const sync = await bobRaw.request<SyncResultFrame>({ type: 'sync', positions: [{ conversation_id: conv, seq: 0 }] });
    expect(sync.conversations[0]!.messages.map((m) => m.attachments)).toEqual([expected, [expected[0]]]);

    // The other member downloads what was uploaded; a non-member gets no URL.
    const bobFiles = attachmentsClient(bob);
    for (const [meta, bytes] of [
      [shown[0]!.attachments![0]!, photo],
      [shown[0]!.attachments![1]!, doc],
    ] as const) {
      expect(Buffer.from(await bobFiles.download(meta.attachment_id)).equals(bytes)).toBe(true);
    }
    const refused = await attachmentsClient(eve)
      .downloadUrl(a1.attachment_id)
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ChatRequestError);
    expect((refused as ChatRequestError).name).toBe(Errors.NOT_MEMBER.name);
  });

  it('refuses attachments of another conversation, another sender, not completed or unknown, and stores nothing', async () => {
    const [alice, bob] = [uid('alice'), uid('bob')];
    const [conv, other] = [await group(alice, [bob]), await group(alice, [bob])];
    const aliceFiles = attachmentsClient(alice);
    const elsewhere = await aliceFiles.upload(other, randomBytes(100), { contentType: 'image/png' });
    const bobs = await attachmentsClient(bob).upload(conv, randomBytes(100), { contentType: 'image/png' });
    const pending = (await aliceFiles.requestUpload(conv, { content_type: 'image/png', size: 100 })).attachment;
    const mine = await aliceFiles.upload(conv, randomBytes(100), { contentType: 'image/jpeg' });

    const client = await raw(alice);
    const send = (clientMsgId: string, attachmentIds: unknown, body = 'look') =>
      client.request<ErrorFrame | AckFrame>({ type: 'send', conversation_id: conv, client_msg_id: clientMsgId, body, attachment_ids: attachmentIds });
    const cases: [string, unknown, string][] = [
      ['other-conversation', [elsewhere.attachment_id], Errors.ATTACHMENT_NOT_USABLE.name],
      ['other-sender', [bobs.attachment_id], Errors.ATTACHMENT_NOT_USABLE.name],
      ['mixed', [mine.attachment_id, bobs.attachment_id], Errors.ATTACHMENT_NOT_USABLE.name],
      ['unknown', ['4611686018427387904'], Errors.ATTACHMENT_NOT_USABLE.name],
      ['pending', [pending.attachment_id], Errors.ATTACHMENT_NOT_UPLOADED.name],
      ['repeated', [mine.attachment_id, mine.attachment_id], Errors.INVALID_SHAPE.name],
      ['not-ids', ['07'], Errors.INVALID_SHAPE.name],
      ['too-many', Array.from({ length: 11 }, (_, i) => String(i + 1)), Errors.INVALID_SHAPE.name],
    ];
    for (const [id, attachmentIds, name] of cases) {
      const reply = await send(id, attachmentIds);
      expect(reply.type, id).toBe('error');
      expect((reply as ErrorFrame).name, id).toBe(name);
    }
    const blank = await send('blank', undefined, '  ');
    expect((blank as ErrorFrame).name).toBe(Errors.INVALID_SHAPE.name);

    // A usable one goes through; reusing its client_msg_id with other attachments is refused (G5).
    const ok = await send('fine', [mine.attachment_id]);
    expect(ok.type).toBe('ack');
    const reused = await send('fine', []);
    expect((reused as ErrorFrame).name).toBe(Errors.CLIENT_MSG_ID_REUSED.name);
    const again = await send('fine', [mine.attachment_id]);
    expect(again).toMatchObject({ type: 'ack', duplicate: true, message_id: (ok as AckFrame).message_id });

    await waitFor(
      async () => (await sys.rest<HistoryPage>(alice, 'GET', `/v1/conversations/${conv}/messages`)).body.messages.length > 0,
      20_000,
      'the accepted message stored',
    );
    const stored = (await sys.rest<HistoryPage>(alice, 'GET', `/v1/conversations/${conv}/messages`)).body.messages;
    expect(stored.map((m) => m.client_msg_id)).toEqual(['fine']);
    expect(stored[0]!.attachments).toEqual([{ attachment_id: mine.attachment_id, content_type: 'image/jpeg', size: 100 }]);
  });

  it('a member added later downloads only attachments of messages after their join point, as history shows them; the uploader always', async () => {
    const [alice, bob, carol] = [uid('alice'), uid('bob'), uid('carol')];
    const conv = await group(alice, [bob]);
    const aliceFiles = attachmentsClient(alice);
    const [before, after, unsent] = [
      await aliceFiles.upload(conv, randomBytes(100), { contentType: 'image/png' }),
      await aliceFiles.upload(conv, randomBytes(100), { contentType: 'image/png' }),
      await aliceFiles.upload(conv, randomBytes(100), { contentType: 'image/png' }),
    ];
    const client = await raw(alice);
    const send = async (clientMsgId: string, attachmentIds: string[]) =>
      expect(
        (await client.request<AckFrame>({ type: 'send', conversation_id: conv, client_msg_id: clientMsgId, body: clientMsgId, attachment_ids: attachmentIds }))
          .type,
      ).toBe('ack');
    const storedUpTo = (seq: number) =>
      waitFor(
        async () => (await sys.rest<HistoryPage>(alice, 'GET', `/v1/conversations/${conv}/messages`)).body.messages.at(-1)?.seq === seq,
        20_000,
        `seq ${seq} stored`,
      );
    await send('m1', [before.attachment_id]);
    await storedUpTo(1);
    expect((await sys.rest(alice, 'POST', `/v1/conversations/${conv}/members`, { user_ids: [carol] })).status).toBe(200);
    await send('m2', [after.attachment_id]);
    await storedUpTo(2);

    const carolFiles = attachmentsClient(carol);
    const refusal = (attachmentId: string) =>
      carolFiles.downloadUrl(attachmentId).then(
        () => undefined,
        (e: unknown) => (e as ChatRequestError).name,
      );
    // Message 1 is before carol's join point (history does not show it to her): neither is its attachment.
    expect((await sys.rest<HistoryPage>(carol, 'GET', `/v1/conversations/${conv}/messages`)).body.messages.map((m) => m.seq)).toEqual([2]);
    expect(await refusal(before.attachment_id)).toBe(Errors.NOT_FOUND.name);
    expect((await sys.rest(carol, 'GET', `/v1/attachments/${before.attachment_id}/download`)).status).toBe(404);
    // An attachment no message carries is the uploader's (and the founding members') only.
    expect(await refusal(unsent.attachment_id)).toBe(Errors.NOT_FOUND.name);
    // Message 2 is hers, and so is its attachment; founding members and the uploader download both.
    expect(await refusal(after.attachment_id)).toBeUndefined();
    for (const id of [before.attachment_id, after.attachment_id, unsent.attachment_id])
      expect(await attachmentsClient(bob).downloadUrl(id)).toHaveProperty('url');
    // Her own upload, before any message carries it.
    const hers = await carolFiles.upload(conv, randomBytes(50), { contentType: 'image/png' });
    expect((await carolFiles.downloadUrl(hers.attachment_id)).url).toBeTruthy();
    // The first attachment sent again after she joined is hers too.
    await send('m3', [before.attachment_id]);
    await storedUpTo(3);
    expect(await refusal(before.attachment_id)).toBeUndefined();
  });
});
