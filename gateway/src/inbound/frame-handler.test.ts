import { ChatError, Errors, decodeFrame, parseClientFrame } from '@chat/protocol';
import type { EverythingNew } from '@chat/protocol';
import type {
  HistoryPage,
  InternalHistoryRequest,
  InternalInboxRequest,
  InternalLatestResponse,
  InternalReadRequest,
  InternalReadResponse,
  InternalSendRequest,
  InternalSendResponse,
  InternalSyncRequest,
  InternalSyncResponse,
} from '@chat/protocol/internal';
import { describe, expect, it } from 'vitest';
import type { ChatServiceClient } from '../backend/chat-service-client.js';
import { errorFrameFor } from './error-frames.js';
import { FrameHandler } from './frame-handler.js';
import { UnsupportedPresenceAndTyping } from '../presence/presence-and-typing.js';

class FakeChat implements ChatServiceClient {
  sends: InternalSendRequest[] = [];
  syncs: InternalSyncRequest[] = [];
  histories: InternalHistoryRequest[] = [];
  failWith: Error | undefined;

  async send(req: InternalSendRequest): Promise<InternalSendResponse> {
    this.sends.push(req);
    if (this.failWith) throw this.failWith;
    return { conversation_id: req.conversation_id, client_msg_id: req.client_msg_id, message_id: '42', duplicate: false };
  }
  async sync(req: InternalSyncRequest): Promise<InternalSyncResponse> {
    this.syncs.push(req);
    return { conversations: [] };
  }
  async history(req: InternalHistoryRequest): Promise<HistoryPage> {
    this.histories.push(req);
    return { conversation_id: req.conversation_id, messages: [], has_more: false };
  }
  async latest(): Promise<InternalLatestResponse> {
    return { conversations: [] };
  }
  reads: InternalReadRequest[] = [];
  async read(req: InternalReadRequest): Promise<InternalReadResponse> {
    this.reads.push(req);
    return { conversation_id: req.conversation_id, read_seq: req.seq + 1 };
  }
  inboxes: InternalInboxRequest[] = [];
  async inbox(req: InternalInboxRequest): Promise<EverythingNew> {
    this.inboxes.push(req);
    return { messages: [], large: [{ conversation_id: '9', epoch: 'e', last_seq: 4 }], cursor: 'next', has_more: true };
  }
  async close(): Promise<void> {}
}

const caller = { userId: 'alice', connectionId: 'gw:1' };
const frame = (json: object) => parseClientFrame(decodeFrame(JSON.stringify(json)), caller.userId, { maxBodyBytes: 1000 });

/** What the message pipeline does: handle, or turn the rejection into an error frame. */
async function reply(handler: FrameHandler, json: object) {
  const f = frame(json);
  try {
    return await handler.handle(caller, f);
  } catch (err) {
    return errorFrameFor(err, f.ref);
  }
}

describe('FrameHandler', () => {
  it('sends with user_id from the token, never from the frame, and acks with the same ref', async () => {
    const chat = new FakeChat();
    const handler = new FrameHandler(chat, new UnsupportedPresenceAndTyping());
    const ack = await reply(handler, { type: 'send', ref: 'r1', conversation_id: '7', client_msg_id: 'c1', body: 'hi' });
    expect(chat.sends).toEqual([{ user_id: 'alice', conversation_id: '7', client_msg_id: 'c1', body: 'hi' }]);
    expect(ack).toEqual({ type: 'ack', ref: 'r1', conversation_id: '7', client_msg_id: 'c1', message_id: '42', duplicate: false });
  });

  it('refuses a frame whose sender differs from the token subject', () => {
    expect(() => frame({ type: 'send', ref: 'r', conversation_id: '7', client_msg_id: 'c', body: 'x', sender_id: 'mallory' })).toThrow(ChatError);
  });

  it('turns a chat-service error into an error frame with the same ref', async () => {
    const chat = new FakeChat();
    chat.failWith = new ChatError(Errors.NOT_MEMBER);
    const handler = new FrameHandler(chat, new UnsupportedPresenceAndTyping());
    const err = await reply(handler, { type: 'send', ref: 'r2', conversation_id: '7', client_msg_id: 'c2', body: 'hi' });
    expect(err).toEqual({ type: 'error', ref: 'r2', code: Errors.NOT_MEMBER.code, name: 'not_member', message: Errors.NOT_MEMBER.message, retry: false });
  });

  it('answers a transport failure with UNAVAILABLE (retry)', async () => {
    const chat = new FakeChat();
    chat.failWith = new ChatError(Errors.UNAVAILABLE, 'chat-service is unreachable');
    const err = await reply(new FrameHandler(chat, new UnsupportedPresenceAndTyping()), {
      type: 'send',
      ref: 'r3',
      conversation_id: '7',
      client_msg_id: 'c3',
      body: 'hi',
    });
    expect(err).toMatchObject({ type: 'error', ref: 'r3', code: Errors.UNAVAILABLE.code, retry: true });
  });

  it('routes sync and history with the token subject', async () => {
    const chat = new FakeChat();
    const handler = new FrameHandler(chat, new UnsupportedPresenceAndTyping());
    expect(await reply(handler, { type: 'sync', ref: 's', positions: [{ conversation_id: '7', seq: 3 }] })).toEqual({
      type: 'sync.result',
      ref: 's',
      conversations: [],
    });
    expect(chat.syncs[0]).toEqual({ user_id: 'alice', positions: [{ conversation_id: '7', seq: 3 }] });
    expect(await reply(handler, { type: 'history', ref: 'h', conversation_id: '7', before: 10, limit: 5 })).toEqual({
      type: 'history.result',
      ref: 'h',
      conversation_id: '7',
      messages: [],
      has_more: false,
    });
    expect(chat.histories[0]).toEqual({ user_id: 'alice', conversation_id: '7', before: 10, limit: 5 });
  });

  it('routes inbox with the token subject, the cursor and the reply budget, and answers inbox.result', async () => {
    const chat = new FakeChat();
    const handler = new FrameHandler(chat, new UnsupportedPresenceAndTyping(), 65_536);
    expect(await reply(handler, { type: 'inbox', ref: 'i', cursor: 'abc_-1', user_id: 'alice' })).toEqual({
      type: 'inbox.result',
      ref: 'i',
      messages: [],
      large: [{ conversation_id: '9', epoch: 'e', last_seq: 4 }],
      cursor: 'next',
      has_more: true,
    });
    expect(await reply(handler, { type: 'inbox', ref: 'j' })).toMatchObject({ type: 'inbox.result', ref: 'j' });
    expect(await reply(handler, { type: 'inbox', ref: 'l', large_first_page: 20 })).toMatchObject({ type: 'inbox.result', ref: 'l' });
    expect(chat.inboxes).toEqual([
      { user_id: 'alice', cursor: 'abc_-1', max_bytes: 65_536 },
      { user_id: 'alice', max_bytes: 65_536 },
      { user_id: 'alice', large_first_page: 20, max_bytes: 65_536 },
    ]);
    for (const large_first_page of [0, 101, 2.5, '3', null]) expect(() => frame({ type: 'inbox', ref: 'm', large_first_page })).toThrow(ChatError);
    // A cursor that is not one the server could have issued never reaches chat-service.
    for (const cursor of ['', 'a b', 'x'.repeat(513), 7, '../']) expect(() => frame({ type: 'inbox', ref: 'k', cursor })).toThrow(ChatError);
  });

  it('answers ping with pong', async () => {
    expect(await reply(new FrameHandler(new FakeChat(), new UnsupportedPresenceAndTyping()), { type: 'ping', ref: 'p' })).toEqual({
      type: 'pong',
      ref: 'p',
    });
  });

  it('sends read to chat-service as the token subject and answers with the stored position as a receipt', async () => {
    const chat = new FakeChat();
    expect(await reply(new FrameHandler(chat, new UnsupportedPresenceAndTyping()), { type: 'read', ref: 'r', conversation_id: '7', seq: 4 })).toEqual({
      type: 'receipt',
      ref: 'r',
      conversation_id: '7',
      user_id: 'alice',
      seq: 5,
    });
    expect(chat.reads).toEqual([{ user_id: 'alice', conversation_id: '7', seq: 4 }]);
  });

  it('routes typing and presence to PresenceAndTyping (not supported yet → UNKNOWN_TYPE)', async () => {
    const handler = new FrameHandler(new FakeChat(), new UnsupportedPresenceAndTyping());
    for (const f of [
      { type: 'typing', ref: 't', conversation_id: '7', state: 'start' },
      { type: 'presence.sub', ref: 't', user_ids: ['bob'] },
    ]) {
      expect(await reply(handler, f)).toMatchObject({ type: 'error', ref: 't', code: Errors.UNKNOWN_TYPE.code, message: 'not supported by this server yet' });
    }
  });
});
