import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ChatError, Errors, type ErrorDef } from './errors.js';
import { ID_LIMIT, parseCanonicalId } from './canonical-id.js';
import { CLIENT_FRAME_TYPES, type ClientFrame } from './frames.js';
import { decodeFrame, parseClientFrame } from './parse-client-frame.js';

// Property-based fuzzing of what the gateway runs on every text frame: decodeFrame, then
// parseClientFrame. The documented outcomes are an accepted frame or a ChatError with one of the
// registry codes below; anything else (a TypeError, a RangeError, a frame with an alias id) is a bug.
const USER = 'alice';
const LIMITS = { maxBodyBytes: 64 };
const REFUSALS: ReadonlySet<ErrorDef> = new Set([Errors.INVALID_SHAPE, Errors.UNKNOWN_TYPE, Errors.SENDER_MISMATCH, Errors.BODY_TOO_LARGE]);
const RUNS = { numRuns: 1500 };
/** Per test: 1,500 runs take a few seconds on a loaded 2-core machine. */
const TIMEOUT_MS = 60_000;

// ---- arbitraries ----
/** Seqs as clients send them: 0 (nothing seen yet) is the most common. */
const seqLike = fc.oneof(fc.constant(0), fc.nat(100), fc.maxSafeNat());
const canonicalId = fc.bigInt({ min: 1n, max: ID_LIMIT - 1n }).map(String);
/** Canonical ids and their aliases (leading zeros, +2^64, signs, spaces, exponents), digits, non-strings. */
const idLike = fc.oneof(
  canonicalId,
  canonicalId.map((s) => `0${s}`),
  canonicalId.map((s) => (BigInt(s) + (1n << 64n)).toString()),
  canonicalId.chain((s) => fc.constantFrom(`+${s}`, `-${s}`, ` ${s}`, `${s} `, `${s}.0`, `${s}e0`, `${s}\n`)),
  fc.constantFrom('0', '', ID_LIMIT.toString(), '٣', '1_000'),
  fc.string({ unit: fc.constantFrom(...'0123456789'.split('')), maxLength: 21 }),
  fc.integer(),
  fc.jsonValue({ maxDepth: 1 }),
);
const intLike = fc.oneof(
  fc.integer({ min: -3, max: 50 }),
  fc.maxSafeInteger(),
  { arbitrary: fc.constantFrom(-0, 0, 0.5, 2 ** 53 - 1, 2 ** 53, 2 ** 53 + 2, Number.MAX_VALUE, 1e21), weight: 4 },
  fc.double(),
  fc.string({ maxLength: 4 }),
  fc.jsonValue({ maxDepth: 1 }),
);
const text = fc.oneof(
  fc.string({ maxLength: 80 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.constant('x'.repeat(70)),
);
const refLike = fc.oneof(fc.string({ minLength: 1, maxLength: 64 }), text, fc.jsonValue({ maxDepth: 1 }));
const userIdLike = fc.oneof(fc.stringMatching(/^[A-Za-z0-9._:@-]{1,128}$/), text, fc.constant(USER));
const anyJson = fc.jsonValue({ maxDepth: 3 });
const position = fc.record({ conversation_id: idLike, seq: intLike, epoch: fc.oneof(fc.string({ maxLength: 40 }), anyJson) }, { requiredKeys: [] });

/** A valid frame of every type, as the protocol documents it. */
const validFrame: fc.Arbitrary<ClientFrame> = fc.oneof(
  fc.record({
    type: fc.constant('send' as const),
    ref: fc.string({ minLength: 1, maxLength: 64 }),
    conversation_id: canonicalId,
    client_msg_id: fc.stringMatching(/^[A-Za-z0-9._:-]{1,64}$/),
    body: fc.string({ minLength: 1, maxLength: 30 }).filter((b) => b.trim() !== ''),
  }),
  fc.record({
    type: fc.constant('sync' as const),
    ref: fc.string({ minLength: 1, maxLength: 64 }),
    positions: fc.array(
      fc.record(
        { conversation_id: canonicalId, seq: seqLike, epoch: fc.string({ minLength: 1, maxLength: 32 }) },
        { requiredKeys: ['conversation_id', 'seq'] },
      ),
      { maxLength: 5 },
    ),
  }),
  fc.record(
    {
      type: fc.constant('history' as const),
      ref: fc.string({ minLength: 1, maxLength: 64 }),
      conversation_id: canonicalId,
      before: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
      after: seqLike,
      limit: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
    },
    { requiredKeys: ['type', 'ref', 'conversation_id'] },
  ),
  fc.record(
    {
      type: fc.constant('typing' as const),
      ref: fc.string({ minLength: 1, maxLength: 64 }),
      conversation_id: canonicalId,
      state: fc.constantFrom('start' as const, 'stop' as const),
    },
    { requiredKeys: ['type', 'conversation_id', 'state'] },
  ),
  fc.record({ type: fc.constant('read' as const), ref: fc.string({ minLength: 1, maxLength: 64 }), conversation_id: canonicalId, seq: seqLike }),
  fc.record({
    type: fc.constantFrom('presence.sub' as const, 'presence.unsub' as const),
    ref: fc.string({ minLength: 1, maxLength: 64 }),
    user_ids: fc.array(fc.stringMatching(/^[A-Za-z0-9._:@-]{1,128}$/), { maxLength: 5 }),
  }),
  fc.record({ type: fc.constant('ping' as const), ref: fc.string({ minLength: 1, maxLength: 64 }) }),
  fc.record({ type: fc.constant('auth' as const), ref: fc.string({ minLength: 1, maxLength: 64 }), token: fc.stringMatching(/^[A-Za-z0-9._~+/=-]{1,300}$/) }),
);

/** Objects shaped like frames, with each field valid, invalid or missing. */
const frameish = fc.record(
  {
    type: fc.oneof(fc.constantFrom(...CLIENT_FRAME_TYPES), fc.constantFrom(...CLIENT_FRAME_TYPES), fc.string({ maxLength: 12 }), anyJson),
    ref: refLike,
    conversation_id: idLike,
    client_msg_id: fc.oneof(fc.stringMatching(/^[A-Za-z0-9._:-]{1,64}$/), text, anyJson),
    body: fc.oneof(text, fc.constant(' \n\t'), fc.constant('é'.repeat(40)), anyJson),
    positions: fc.oneof(fc.array(position, { maxLength: 4 }), anyJson),
    before: intLike,
    after: intLike,
    limit: intLike,
    seq: intLike,
    state: fc.oneof(fc.constantFrom('start', 'stop', 'Start', ''), anyJson),
    user_ids: fc.oneof(fc.array(userIdLike, { maxLength: 4 }), anyJson),
    sender: userIdLike,
    sender_id: userIdLike,
    user_id: userIdLike,
    ['__proto__']: fc.dictionary(fc.constantFrom('type', 'ref', 'conversation_id', 'body'), anyJson),
    constructor: anyJson,
    extra: anyJson,
  },
  { requiredKeys: [] },
);

/** Each field name with values that may or may not be valid for it. */
const fieldOverride = fc.oneof(
  fc.tuple(fc.constantFrom('conversation_id'), idLike),
  fc.tuple(fc.constantFrom('seq', 'before', 'after', 'limit'), intLike),
  fc.tuple(fc.constantFrom('ref', 'client_msg_id', 'body', 'state', 'type'), fc.oneof(text, anyJson)),
  fc.tuple(fc.constantFrom('positions'), fc.array(position, { maxLength: 3 })),
  fc.tuple(fc.constantFrom('user_ids'), fc.array(userIdLike, { maxLength: 3 })),
  fc.tuple(fc.constantFrom('sender', 'sender_id', 'user_id'), userIdLike),
  fc.tuple(fc.constantFrom('__proto__', 'constructor', 'prototype', 'extra'), anyJson),
);
/** A valid frame with up to two fields replaced or added: mostly accepted or refused for one reason, so edge values reach the accepting paths. */
const nearValid = fc.tuple(validFrame, fc.array(fieldOverride, { maxLength: 2 })).map(([frame, overrides]) => {
  const out: Record<string, unknown> = { ...frame };
  for (const [key, value] of overrides) Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  return out;
});

/** `s` with one random edit: a character deleted, inserted or replaced, or the text cut short. */
const mutated = (s: fc.Arbitrary<string>) =>
  fc.tuple(s, fc.nat(), fc.string({ unit: 'binary', maxLength: 2 }), fc.constantFrom('delete', 'insert', 'replace', 'cut')).map(([t, at, ch, edit]) => {
    const i = t.length === 0 ? 0 : at % t.length;
    if (edit === 'delete') return t.slice(0, i) + t.slice(i + 1);
    if (edit === 'insert') return t.slice(0, i) + ch + t.slice(i);
    if (edit === 'replace') return t.slice(0, i) + ch + t.slice(i + 1);
    return t.slice(0, i);
  });
/** JSON text with its integer literals spelled in other ways JSON allows (`0` as `-0`, `7` as `7.0`, `7e0`, `0.7E1`). */
const respelled = (json: fc.Arbitrary<string>) =>
  fc.tuple(json, fc.array(fc.nat(4), { minLength: 1, maxLength: 8 })).map(([t, choices]) => {
    let i = 0;
    return t.replace(/(?<=[:[,])(-?\d+)(?=[,\]}])/g, (n) => {
      const choice = choices[i++ % choices.length]!;
      if (choice === 0) return n === '0' ? '-0' : n;
      if (choice === 1) return `${n}.0`;
      if (choice === 2) return `${n}e0`;
      if (choice === 3) return `${n}E+0`;
      return n;
    });
  });
const frameText = fc.oneof(frameish, nearValid, nearValid).map((f) => JSON.stringify(f));
/** What a client can put in a text frame. */
const wireText = fc.oneof(
  frameText,
  respelled(frameText),
  mutated(frameText),
  fc.json({ maxDepth: 4 }),
  text,
  fc.constantFrom('[', '{"type":"ping","ref":"r"', '"ping"', 'null', '1e309', '{"type":"ping","ref":"r","x":1e999999}'),
);

// ---- the pipeline under test ----
type Outcome = { frame: ClientFrame; input: unknown } | { refused: ErrorDef; stage: 'decode' | 'parse' };

/** decodeFrame + parseClientFrame as the gateway runs them; fails the property on any other kind of throw. */
function run(wire: string): Outcome {
  let input: unknown;
  try {
    input = decodeFrame(wire);
  } catch (err) {
    if (!(err instanceof ChatError)) throw new Error(`decodeFrame threw ${String(err)}`);
    return { refused: err.def, stage: 'decode' };
  }
  try {
    return { frame: parseClientFrame(input, USER, LIMITS), input };
  } catch (err) {
    if (!(err instanceof ChatError)) throw new Error(`parseClientFrame threw ${String(err)} for ${wire.slice(0, 200)}`);
    return { refused: err.def, stage: 'parse' };
  }
}

/** Every conversation id an accepted frame names. */
function idsOf(frame: ClientFrame): string[] {
  if (frame.type === 'sync') return frame.positions.map((p) => p.conversation_id);
  return 'conversation_id' in frame ? [frame.conversation_id] : [];
}

/** Accepted frames per property: a property over accepted frames that saw few of them proved little. */
const accepted = { ids: 0, roundTrip: 0 };

describe('client frame decoder and parser (property-based)', () => {
  it(
    'hostile input: any text frame is either accepted or refused with a documented code (BAD_FRAME only when not JSON), never another exception',
    () => {
      fc.assert(
        fc.property(wireText, (wire) => {
          const out = run(wire);
          if ('refused' in out) {
            if (out.stage === 'decode') expect(out.refused).toBe(Errors.BAD_FRAME);
            else expect(REFUSALS.has(out.refused), out.refused.name).toBe(true);
          }
        }),
        RUNS,
      );
    },
    TIMEOUT_MS,
  );

  it(
    'hostile input: an accepted frame names only canonical ids, exactly as the client wrote them, and never a sender but the token subject',
    () => {
      fc.assert(
        fc.property(fc.oneof(frameText, respelled(frameText)), (wire) => {
          const out = run(wire);
          if (!('frame' in out)) return;
          accepted.ids++;
          for (const id of idsOf(out.frame)) expect(parseCanonicalId(id)).toBe(id);
          const input = out.input as Record<string, unknown>;
          if ('conversation_id' in out.frame) expect(input.conversation_id).toBe(out.frame.conversation_id);
          for (const field of ['sender', 'sender_id', 'user_id']) {
            expect(field in out.frame).toBe(false);
            if (input[field] !== undefined) expect(input[field]).toBe(USER);
          }
        }),
        RUNS,
      );
      expect(accepted.ids).toBeGreaterThan(RUNS.numRuns / 5);
    },
    TIMEOUT_MS,
  );

  it(
    'hostile input: an accepted frame round-trips: serialized and parsed again it is the same frame, and every field it has came unchanged from the input',
    () => {
      fc.assert(
        fc.property(fc.oneof(frameText, respelled(frameText)), (wire) => {
          const out = run(wire);
          if (!('frame' in out)) return;
          accepted.roundTrip++;
          const again = run(JSON.stringify(out.frame));
          expect(again).toEqual({ frame: out.frame, input: expect.anything() });
          expect(JSON.stringify((again as { frame: ClientFrame }).frame)).toBe(JSON.stringify(out.frame));
          const input = out.input as Record<string, unknown>;
          for (const [key, value] of Object.entries(out.frame)) {
            if (key !== 'positions' && key !== 'user_ids') expect(JSON.stringify(value), key).toBe(JSON.stringify(input[key]));
          }
        }),
        RUNS,
      );
      expect(accepted.roundTrip).toBeGreaterThan(RUNS.numRuns / 5);
    },
    TIMEOUT_MS,
  );

  it(
    'every frame the protocol documents as valid is accepted unchanged',
    () => {
      fc.assert(
        fc.property(validFrame, (frame) => {
          // A history frame's before/after may contradict each other; that is chat-service's to answer, not the parser's.
          const out = run(JSON.stringify(frame));
          expect(out).toEqual({ frame, input: frame });
        }),
        RUNS,
      );
    },
    TIMEOUT_MS,
  );

  it(
    'refusals of frames with a usable ref carry a registry code that an error frame can echo',
    () => {
      fc.assert(
        fc.property(frameish, (value) => {
          try {
            parseClientFrame(value, USER, LIMITS);
          } catch (err) {
            expect(err).toBeInstanceOf(ChatError);
            const json = (err as ChatError).toJSON();
            expect(Object.keys(json).sort()).toEqual(['code', 'message', 'name', 'retry']);
            expect(json.message.length).toBeLessThanOrEqual(200);
          }
        }),
        RUNS,
      );
    },
    TIMEOUT_MS,
  );
});
