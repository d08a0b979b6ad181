import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Errors, type AckFrame, type ErrorFrame, type HistoryResultFrame, type ServerFrame, type SyncResultFrame } from '@chat/protocol';
import { cassandraMessageReader } from '@chat/testing/stored-messages';
import { RawClient } from './support/raw-client.js';
import { startSystem, waitFor, type TestSystem } from './support/system.js';

// Hostile frames against a real gateway process and chat-service: each is answered with its
// documented code (or, for invalid UTF-8, the connection is failed), nothing is stored or leaked,
// and the gateway keeps serving everybody else.
const DEEP = 100_000;
/** Room for 100,000 levels of nesting in one frame (the default 64 KiB would close it with 1009 first). */
const MAX_FRAME_BYTES = 4 * DEEP;
/** Invalid frames sent on one socket before moving to a fresh one (the gateway closes a socket at 20 within a minute). */
const INVALID_PER_SOCKET = 15;

let sys: TestSystem;
const clients: RawClient[] = [];
const uid = (name: string) => `${name}-${Math.random().toString(36).slice(2, 8)}`;

async function connect(userId: string): Promise<RawClient> {
  const c = await RawClient.connect(sys.gateways[0]!.url, sys.token(userId));
  clients.push(c);
  return c;
}

async function direct(a: string, b: string): Promise<string> {
  const res = await sys.rest<{ conversation: { conversation_id: string } }>(a, 'POST', '/v1/conversations', { kind: 'direct', user_id: b });
  expect(res.status).toBe(201);
  return res.body.conversation.conversation_id;
}

/** Sends raw text and resolves with the next frame this socket receives (none is unsolicited for these users). */
async function reply(c: RawClient, text: string | Buffer): Promise<ServerFrame> {
  const before = c.frames.length;
  c.sendRaw(text);
  await waitFor(() => c.frames.length > before || c.closeCode !== null, 10_000, `a reply to ${String(text).slice(0, 80)}`);
  if (c.frames.length === before) throw new Error(`socket closed with ${c.closeCode} instead of replying to ${String(text).slice(0, 80)}`);
  return c.frames[before]!;
}

/** Sends each text on sockets of `userId`, moving to a fresh socket before the invalid-frame limit, and returns the replies in order. */
async function replies(userId: string, texts: string[]): Promise<ServerFrame[]> {
  const out: ServerFrame[] = [];
  for (let i = 0; i < texts.length; i += INVALID_PER_SOCKET) {
    const c = await connect(userId);
    for (const text of texts.slice(i, i + INVALID_PER_SOCKET)) out.push(await reply(c, text));
    c.close();
    await waitFor(() => c.closeCode !== null, 5000, 'the socket to close');
  }
  return out;
}

beforeAll(async () => {
  sys = await startSystem(1, { env: { MAX_FRAME_BYTES: String(MAX_FRAME_BYTES) } });
}, 180_000);

afterAll(async () => {
  for (const c of clients) c.close();
  await sys?.close();
});

describe('hostile input: frames against a real gateway and chat-service', () => {
  it('invalid UTF-8 in a text frame fails only that connection (1006, no close frame, as uWS enforces RFC 6455); a valid character split across fragments is accepted; others keep chatting', async () => {
    const [alice, bob, mallory] = [uid('alice'), uid('bob'), uid('mallory')];
    const conv = await direct(alice, bob);
    const [aliceClient, bobClient] = [await connect(alice), await connect(bob)];
    const invalid = [
      Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]), // bytes that never occur in UTF-8
      Buffer.from('{"type":"ping","ref":"\xc0\xaf"}', 'latin1'), // overlong encoding of '/'
      Buffer.from([0x7b, 0x22, 0xed, 0xa0, 0x80, 0x22, 0x7d]), // an encoded UTF-16 surrogate
      Buffer.from([0x22, 0xe2, 0x82]), // truncated sequence at the end
    ];
    for (const bytes of invalid) {
      const m = await connect(mallory);
      m.ws.send(bytes, { binary: false });
      await waitFor(() => m.closeCode !== null, 5000, 'the connection to fail');
      expect(m.closeCode).toBe(1006);
      expect(m.frames.filter((f) => f.type !== 'hello')).toEqual([]);
    }
    // A valid multi-byte character split across two fragments of one message is one valid frame.
    const m = await connect(mallory);
    const text = Buffer.from(JSON.stringify({ type: 'ping', ref: 'frag-€' }), 'utf8');
    const cut = text.indexOf(Buffer.from('€')) + 1;
    m.ws.send(text.subarray(0, cut), { binary: false, fin: false });
    m.ws.send(text.subarray(cut), { binary: false, fin: true });
    await waitFor(() => m.frames.some((f) => f.type === 'pong'), 5000, 'pong to a fragmented frame');
    expect(m.frames.find((f) => f.type === 'pong')).toEqual({ type: 'pong', ref: 'frag-€' });

    const ack = await aliceClient.request<AckFrame>({ type: 'send', conversation_id: conv, client_msg_id: 'after-utf8', body: 'still here ✓' });
    expect(ack.type).toBe('ack');
    await waitFor(() => bobClient.messages(conv).length === 1, 15_000, 'delivery after invalid UTF-8');
    expect(bobClient.messages(conv)[0]!.body).toBe('still here ✓');
  });

  it('deep nesting (100,000 levels), huge numbers and prototype keys get 4000/4002 or are ignored, and never pollute the gateway', async () => {
    const mallory = uid('mallory');
    const open = '['.repeat(DEEP);
    const close = ']'.repeat(DEEP);
    const deepObject = `${'{"a":'.repeat(DEEP / 2)}1${'}'.repeat(DEEP / 2)}`;
    const cases: [string, string, Partial<ErrorFrame> | { type: 'pong'; ref: string }][] = [
      ['100,000 levels of [', `${open}${close}`, { code: Errors.INVALID_SHAPE.code }],
      ['100,000 unclosed [', open, { code: Errors.BAD_FRAME.code }],
      ['100,000 levels inside an ignored field', `{"type":"ping","ref":"deep1","x":${open}${close}}`, { type: 'pong', ref: 'deep1' }],
      ['50,000 nested objects inside an ignored field', `{"type":"ping","ref":"deep2","x":${deepObject}}`, { type: 'pong', ref: 'deep2' }],
      ['100,000 levels as ref', `{"type":"ping","ref":${open}${close}}`, { code: Errors.INVALID_SHAPE.code }],
      [
        '100,000 levels as body',
        `{"type":"send","ref":"deep3","conversation_id":"1","client_msg_id":"c","body":${open}${close}}`,
        { code: Errors.INVALID_SHAPE.code, ref: 'deep3' },
      ],
      ['100,000 levels as positions', `{"type":"sync","ref":"deep4","positions":${open}${close}}`, { code: Errors.INVALID_SHAPE.code, ref: 'deep4' }],
      ['seq 1e309 (Infinity)', '{"type":"read","ref":"n1","conversation_id":"1","seq":1e309}', { code: Errors.INVALID_SHAPE.code, ref: 'n1' }],
      ['seq -1e309', '{"type":"sync","ref":"n2","positions":[{"conversation_id":"1","seq":-1e309}]}', { code: Errors.INVALID_SHAPE.code, ref: 'n2' }],
      [
        'limit with 400 digits',
        `{"type":"history","ref":"n3","conversation_id":"1","limit":${'9'.repeat(400)}}`,
        { code: Errors.INVALID_SHAPE.code, ref: 'n3' },
      ],
      [
        'before 2^53+1 (not a safe integer)',
        '{"type":"history","ref":"n4","conversation_id":"1","before":9007199254740993}',
        { code: Errors.INVALID_SHAPE.code, ref: 'n4' },
      ],
      ['seq 0.5', '{"type":"read","ref":"n5","conversation_id":"1","seq":0.5}', { code: Errors.INVALID_SHAPE.code, ref: 'n5' }],
      ['conversation_id as a number', '{"type":"history","ref":"n6","conversation_id":12345678901234567890}', { code: Errors.INVALID_SHAPE.code, ref: 'n6' }],
      ['conversation_id 2^63', '{"type":"history","ref":"n7","conversation_id":"9223372036854775808"}', { code: Errors.INVALID_SHAPE.code, ref: 'n7' }],
      ['__proto__ carrying type and ref', '{"__proto__":{"type":"ping","ref":"p0"}}', { code: Errors.INVALID_SHAPE.code }],
      [
        '__proto__ setting ref for every object',
        '{"type":"ping","ref":"p1","__proto__":{"ref":"polluted","sender":"someone-else"}}',
        { type: 'pong', ref: 'p1' },
      ],
      ['constructor.prototype', '{"type":"ping","ref":"p2","constructor":{"prototype":{"ref":"polluted"}}}', { type: 'pong', ref: 'p2' }],
      [
        '__proto__ inside positions',
        '{"type":"sync","ref":"p3","positions":[{"__proto__":{"conversation_id":"1","seq":0}}]}',
        { code: Errors.INVALID_SHAPE.code, ref: 'p3' },
      ],
      ['type "__proto__"', '{"type":"__proto__","ref":"p4"}', { code: Errors.UNKNOWN_TYPE.code, ref: 'p4' }],
      ['type "constructor"', '{"type":"constructor","ref":"p5"}', { code: Errors.UNKNOWN_TYPE.code, ref: 'p5' }],
      ['type "toString"', '{"type":"toString","ref":"p6"}', { code: Errors.UNKNOWN_TYPE.code, ref: 'p6' }],
      // Had anything above polluted Object.prototype, this frame would inherit a ref and be answered.
      ['no ref after the pollution attempts', '{"type":"ping"}', { code: Errors.INVALID_SHAPE.code }],
    ];
    const got = await replies(
      mallory,
      cases.map(([, text]) => text),
    );
    for (const [i, [name, , expected]] of cases.entries()) {
      expect(got[i], name).toMatchObject(expected);
      if ('code' in expected && expected.ref === undefined) expect(got[i], name).not.toHaveProperty('ref');
    }
    expect(({} as Record<string, unknown>).ref).toBeUndefined(); // nor this process (chat-service runs in it)
  });

  it('every frame type with each field of a wrong type gets 4002 invalid_shape echoing ref, and the socket keeps serving', async () => {
    const mallory = uid('mallory');
    type Kind = 'id' | 'str' | 'int' | 'enum' | 'list';
    const templates: [Record<string, unknown>, Record<string, Kind>][] = [
      [
        { type: 'send', conversation_id: '1', client_msg_id: 'c1', body: 'hi' },
        { conversation_id: 'id', client_msg_id: 'str', body: 'str', ref: 'str' },
      ],
      [
        { type: 'sync', positions: [{ conversation_id: '1', seq: 0, epoch: 'e' }] },
        { positions: 'list', 'positions.0.conversation_id': 'id', 'positions.0.seq': 'int', 'positions.0.epoch': 'str', ref: 'str' },
      ],
      [
        { type: 'history', conversation_id: '1', before: 5, after: 1, limit: 2 },
        { conversation_id: 'id', before: 'int', after: 'int', limit: 'int', ref: 'str' },
      ],
      [
        { type: 'typing', conversation_id: '1', state: 'start' },
        { conversation_id: 'id', state: 'enum', ref: 'str' },
      ],
      [
        { type: 'read', conversation_id: '1', seq: 1 },
        { conversation_id: 'id', seq: 'int', ref: 'str' },
      ],
      [
        { type: 'presence.sub', user_ids: ['bob'] },
        { user_ids: 'list', 'user_ids.0': 'str', ref: 'str' },
      ],
      [
        { type: 'presence.unsub', user_ids: ['bob'] },
        { user_ids: 'list', 'user_ids.0': 'str', ref: 'str' },
      ],
      [{ type: 'ping' }, { ref: 'str' }],
    ];
    // JSON values and the kinds of field each is wrong for.
    const wrongs: [unknown, Kind[]][] = [
      [null, ['id', 'str', 'int', 'enum', 'list']],
      [true, ['id', 'str', 'int', 'enum', 'list']],
      [1.5, ['id', 'str', 'int', 'enum', 'list']],
      [-1, ['id', 'str', 'int', 'enum', 'list']],
      [7, ['id', 'str', 'enum', 'list']],
      ['', ['id', 'str', 'int', 'enum', 'list']],
      ['x', ['id', 'int', 'enum', 'list']],
      ['1', ['int', 'enum', 'list']],
      ['y'.repeat(200), ['id', 'int', 'enum', 'list']], // too long for ref, client_msg_id, epoch, user ids
      [[], ['id', 'str', 'int', 'enum']],
      [{}, ['id', 'str', 'int', 'enum', 'list']],
      [{ toString: 'x', valueOf: 1 }, ['id', 'str', 'int', 'enum', 'list']],
    ];
    const frames: { text: string; what: string; ref: string | undefined }[] = [];
    for (const [template, fields] of templates) {
      for (const [path, kind] of Object.entries(fields)) {
        for (const [value, wrongFor] of wrongs) {
          if (!wrongFor.includes(kind)) continue;
          // 'y' x 200 is a fine body; a string is a fine user id only within the user-id pattern.
          if (path === 'body' && typeof value === 'string' && value !== '') continue;
          const ref = path === 'ref' ? undefined : `w${frames.length}`;
          const frame = structuredClone({ ...template, ref: `w${frames.length}` }) as Record<string, unknown>;
          setPath(frame, path, value);
          frames.push({ text: JSON.stringify(frame), what: `${String(template.type)}.${path} = ${JSON.stringify(value)?.slice(0, 20)}`, ref });
        }
      }
    }
    const got = await replies(
      mallory,
      frames.map((f) => f.text),
    );
    for (const [i, f] of frames.entries()) {
      expect(got[i], f.what).toMatchObject({ type: 'error', code: Errors.INVALID_SHAPE.code, name: Errors.INVALID_SHAPE.name, retry: false });
      if (f.ref !== undefined) expect((got[i] as ErrorFrame).ref, f.what).toBe(f.ref);
    }
    const c = await connect(mallory);
    expect(await c.request({ type: 'ping' })).toMatchObject({ type: 'pong' });
    console.log(`hostile frames: ${frames.length} wrongly typed frames over ${templates.length} frame types, each answered 4002`);
  });

  it('a non-member sending, reading history, syncing, marking read or calling REST on a conversation is refused (4003/not_member) and nothing is stored or leaked', async () => {
    const [alice, bob, eve] = [uid('alice'), uid('bob'), uid('eve')];
    const conv = await direct(alice, bob);
    const evesOwn = await direct(eve, uid('friend'));
    const [aliceClient, bobClient, eveClient] = [await connect(alice), await connect(bob), await connect(eve)];
    for (let i = 1; i <= 3; i++)
      expect((await aliceClient.request<AckFrame>({ type: 'send', conversation_id: conv, client_msg_id: `legit-${i}`, body: `secret ${i}` })).type).toBe('ack');
    await waitFor(() => bobClient.messages(conv).length === 3, 15_000, 'three deliveries');
    const epoch = bobClient.messages(conv)[0]!.epoch;

    const sends = await Promise.all(
      [1, 2, 3].map((i) => eveClient.request<ErrorFrame>({ type: 'send', conversation_id: conv, client_msg_id: `intrude-${i}`, body: 'let me in' })),
    );
    for (const s of sends) expect(s).toMatchObject({ type: 'error', code: Errors.NOT_MEMBER.code, retry: false });
    for (const query of [{}, { after: 0 }, { before: 3 }, { after: 0, limit: 1000 }]) {
      expect(await eveClient.request({ type: 'history', conversation_id: conv, ...query })).toMatchObject({ type: 'error', code: Errors.NOT_MEMBER.code });
    }
    expect(await eveClient.request({ type: 'read', conversation_id: conv, seq: 1 })).toMatchObject({
      type: 'error',
      code: Errors.NOT_MEMBER.code,
      retry: false,
    });

    for (const position of [{ seq: 0 }, { seq: 0, epoch }, { seq: 2 }, { seq: 2, epoch }]) {
      const sync = await eveClient.request<SyncResultFrame>({
        type: 'sync',
        positions: [
          { conversation_id: evesOwn, seq: 0 },
          { conversation_id: conv, ...position },
        ],
      });
      expect(sync.type, JSON.stringify(position)).toBe('sync.result');
      const foreign = sync.conversations.find((x) => x.conversation_id === conv);
      // No messages, and neither the epoch nor the last seq: nothing tells eve whether anything was said.
      expect(foreign, JSON.stringify(position)).toEqual({
        conversation_id: conv,
        epoch: '',
        status: 'resync',
        reason: 'not_member',
        last_seq: 0,
        messages: [],
      });
      expect(sync.conversations.find((x) => x.conversation_id === evesOwn)).toMatchObject({ status: 'ok', messages: [] });
    }

    for (const [method, path, body] of [
      ['GET', `/v1/conversations/${conv}`],
      ['GET', `/v1/conversations/${conv}/messages`],
      ['GET', `/v1/conversations/${conv}/messages?after=0&limit=1000`],
      ['POST', `/v1/conversations/${conv}/members`, { user_ids: [eve] }],
      ['DELETE', `/v1/conversations/${conv}/members/${bob}`],
    ] as [string, string, unknown?][]) {
      const res = await sys.rest<{ error: { code: number } }>(eve, method, path, body);
      expect(res.status, `${method} ${path}`).toBe(Errors.NOT_MEMBER.httpStatus);
      expect(res.body.error.code, `${method} ${path}`).toBe(Errors.NOT_MEMBER.code);
    }
    const listed = await sys.rest<{ conversations: { conversation_id: string }[] }>(eve, 'GET', '/v1/conversations');
    expect(listed.body.conversations.map((x) => x.conversation_id)).toEqual([evesOwn]);

    // One more legit message after all that: the members see exactly their 4, storage holds exactly
    // them, and eve never saw a message of the conversation.
    await aliceClient.request({ type: 'send', conversation_id: conv, client_msg_id: 'legit-4', body: 'secret 4' });
    await waitFor(() => bobClient.messages(conv).length === 4, 15_000, 'the fourth delivery');
    const stored = await cassandraMessageReader(sys.cassandra)(conv);
    expect(stored.map((m) => [m.seq, m.sender_id, m.client_msg_id])).toEqual([1, 2, 3, 4].map((i) => [i, alice, `legit-${i}`]));
    expect(bobClient.messages(conv).map((m) => m.client_msg_id)).toEqual(['legit-1', 'legit-2', 'legit-3', 'legit-4']);
    expect(eveClient.messages(conv)).toEqual([]);
    const page = await bobClient.request<HistoryResultFrame>({ type: 'history', conversation_id: conv });
    expect(page.messages.map((m) => m.sender_id)).toEqual([alice, alice, alice, alice]);
  });

  it('prototype keys in REST bodies are plain data: never a field, never a polluted prototype in chat-service', async () => {
    const [alice, bob] = [uid('alice'), uid('bob')];
    const post = (body: string) =>
      fetch(`${sys.chatUrl}/v1/conversations`, {
        method: 'POST',
        headers: { authorization: `Bearer ${sys.token(alice)}`, 'content-type': 'application/json' },
        body,
      }).then(async (r) => ({ status: r.status, body: (await r.json()) as { error?: { code: number } } }));
    for (const body of [
      `{"__proto__":{"kind":"direct","user_id":"${bob}"}}`,
      `{"kind":"group","__proto__":{"member_ids":["${bob}"]}}`,
      `{"constructor":{"prototype":{"kind":"direct","user_id":"${bob}"}}}`,
      `${'['.repeat(DEEP)}${']'.repeat(DEEP)}`,
      `{"kind":"direct","user_id":${'['.repeat(DEEP)}${']'.repeat(DEEP)}}`,
    ]) {
      const res = await post(body);
      expect(res.status, body.slice(0, 60)).toBe(400);
      expect(res.body.error?.code, body.slice(0, 60)).toBe(Errors.INVALID_SHAPE.code);
    }
    const group = await post(`{"kind":"group","title":"t","member_ids":["${bob}"],"__proto__":{"kind":"direct","member_ids":["intruder"]}}`);
    expect(group.status).toBe(201);
    const members = await sys.rest<{ members: { user_id: string }[] }>(
      alice,
      'GET',
      `/v1/conversations/${(group.body as unknown as { conversation: { conversation_id: string } }).conversation.conversation_id}`,
    );
    expect(members.body.members.map((m) => m.user_id).sort()).toEqual([alice, bob].sort());
    const probe = {} as Record<string, unknown>;
    for (const key of ['kind', 'user_id', 'member_ids', 'prototype']) expect(probe[key], key).toBeUndefined();
  });
});

/** Sets `value` at a dotted path (`positions.0.seq`) of a JSON object. */
function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let at: Record<string, unknown> = target;
  for (const key of keys.slice(0, -1)) at = at[key] as Record<string, unknown>;
  at[keys[keys.length - 1]!] = value;
}
