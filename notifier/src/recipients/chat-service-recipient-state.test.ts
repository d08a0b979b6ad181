import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { INTERNAL_PATHS, INTERNAL_TOKEN_HEADER } from '@chat/protocol/internal';
import { ChatServiceRecipientState } from './chat-service-recipient-state.js';

// The notifier trusts nothing chat-service sends back: a reply that does not answer exactly the
// keys it asked for, in order and well formed, fails the lookup (the windows are decided later).
let server: Server | null = null;
afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

async function chatService(
  reply: (entries: { user_id: string; conversation_id: string }[]) => { status: number; body: unknown },
): Promise<{ url: string; seen: { path?: string; token?: string }[] }> {
  const seen: { path?: string; token?: string }[] = [];
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ path: req.url, token: req.headers[INTERNAL_TOKEN_HEADER] as string });
      const { entries } = JSON.parse(Buffer.concat(chunks).toString()) as { entries: { user_id: string; conversation_id: string }[] };
      const r = reply(entries);
      res.writeHead(r.status, { 'content-type': 'application/json' }).end(JSON.stringify(r.body));
    });
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server!.address() as AddressInfo).port}`, seen };
}

const keys = [
  { userId: 'bob', conversationId: '7' },
  { userId: 'carol', conversationId: '8' },
];
const state = (e: { user_id: string; conversation_id: string }) => ({ ...e, read_seq: 3, muted: false, member: true, total_unread: 9 });

describe('ChatServiceRecipientState', () => {
  it('asks push-state with the internal token and maps each reply entry to its key', async () => {
    const cs = await chatService((entries) => ({ status: 200, body: { states: entries.map(state) } }));
    const lookup = new ChatServiceRecipientState({ url: cs.url, internalToken: 'secret' });
    expect(await lookup.states(keys)).toEqual([
      { readSeq: 3, muted: false, member: true, totalUnread: 9 },
      { readSeq: 3, muted: false, member: true, totalUnread: 9 },
    ]);
    expect(cs.seen).toEqual([{ path: INTERNAL_PATHS.pushState, token: 'secret' }]);
  });

  it.each([
    ['an error status', () => ({ status: 503, body: { error: { code: 4101 } } })],
    ['fewer states than keys', (e: { user_id: string; conversation_id: string }[]) => ({ status: 200, body: { states: e.slice(1).map(state) } })],
    ['states out of order', (e: { user_id: string; conversation_id: string }[]) => ({ status: 200, body: { states: [...e].reverse().map(state) } })],
    [
      'a negative read position',
      (e: { user_id: string; conversation_id: string }[]) => ({ status: 200, body: { states: e.map((x) => ({ ...state(x), read_seq: -1 })) } }),
    ],
    [
      'a fractional unread count',
      (e: { user_id: string; conversation_id: string }[]) => ({ status: 200, body: { states: e.map((x) => ({ ...state(x), total_unread: 1.5 })) } }),
    ],
    [
      'muted as a string',
      (e: { user_id: string; conversation_id: string }[]) => ({ status: 200, body: { states: e.map((x) => ({ ...state(x), muted: 'false' })) } }),
    ],
    ['no states at all', () => ({ status: 200, body: {} })],
  ])('rejects %s', async (_, reply) => {
    const cs = await chatService(reply);
    await expect(new ChatServiceRecipientState({ url: cs.url, internalToken: 't' }).states(keys)).rejects.toThrow();
  });
});
