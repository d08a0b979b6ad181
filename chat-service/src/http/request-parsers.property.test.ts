import fc from 'fast-check';
import { ChatError, Errors, ID_LIMIT, USER_ID_PATTERN, parseCanonicalId, type ErrorDef, type Obj } from '@chat/protocol';
import { describe, expect, it } from 'vitest';
import {
  conversationIdParam,
  parseAddMembers,
  parseCreateConversation,
  parseInternalHistory,
  parseInternalSend,
  parseInternalSync,
  parseWith,
  queryInt,
} from './request-parsers.js';

// Property-based fuzzing of every REST and internal-API request body parser, the path-id parser and
// query integers. Documented outcomes: a parsed request, or a ChatError with INVALID_SHAPE
// (BODY_TOO_LARGE for an oversize message body); a path id that is not canonical is NOT_FOUND.
const RUNS = { numRuns: 1500 };
const TIMEOUT_MS = 60_000;
const MAX_MEMBERS = 5;
const MAX_BODY_BYTES = 40;

const canonicalId = fc.bigInt({ min: 1n, max: ID_LIMIT - 1n }).map(String);
const idLike = fc.oneof(
  canonicalId,
  canonicalId.map((s) => `0${s}`),
  canonicalId.map((s) => (BigInt(s) + (1n << 64n)).toString()),
  canonicalId.chain((s) => fc.constantFrom(`+${s}`, ` ${s}`, `${s}.0`, `${s}e0`)),
  fc.constantFrom('0', '', ID_LIMIT.toString()),
  fc.integer(),
  fc.jsonValue({ maxDepth: 1 }),
);
const userId = fc.stringMatching(/^[A-Za-z0-9._:@-]{1,128}$/);
const userIdLike = fc.oneof(userId, userId, fc.string({ maxLength: 10 }), fc.constant('x'.repeat(129)), fc.jsonValue({ maxDepth: 1 }));
const intLike = fc.oneof(
  fc.integer({ min: -2, max: 100 }),
  fc.maxSafeNat(),
  fc.constantFrom(-0, 0.5, 2 ** 53, 1e21, 2 ** 31, 1023, 1024),
  fc.double(),
  fc.string({ maxLength: 3 }),
  fc.constant(null),
);
const textLike = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.constantFrom('', '  ', 'é'.repeat(30)),
  fc.jsonValue({ maxDepth: 1 }),
);
const anyJson = fc.jsonValue({ maxDepth: 3 });
const position = fc.record({ conversation_id: idLike, seq: intLike, epoch: fc.oneof(fc.string({ maxLength: 40 }), anyJson) }, { requiredKeys: [] });

/** Body-shaped objects with each field valid, invalid or missing, plus prototype keys. */
const bodyish = fc.record(
  {
    kind: fc.oneof(fc.constantFrom('direct', 'group', 'Direct'), anyJson),
    user_id: userIdLike,
    title: fc.oneof(fc.string({ maxLength: 210 }), anyJson),
    member_ids: fc.oneof(fc.array(userIdLike, { maxLength: MAX_MEMBERS + 1 }), anyJson),
    user_ids: fc.oneof(fc.array(userIdLike, { maxLength: MAX_MEMBERS + 1 }), anyJson),
    conversation_id: idLike,
    client_msg_id: fc.oneof(fc.stringMatching(/^[A-Za-z0-9._:-]{1,64}$/), textLike),
    body: textLike,
    positions: fc.oneof(fc.array(position, { maxLength: 3 }), anyJson),
    before: intLike,
    after: intLike,
    limit: intLike,
    max_bytes: intLike,
    ['__proto__']: fc.dictionary(fc.constantFrom('kind', 'user_id', 'member_ids', 'conversation_id', 'body'), anyJson),
    constructor: anyJson,
  },
  { requiredKeys: [] },
);
const seqLike = fc.oneof(fc.constant(0), fc.nat(100), fc.maxSafeNat());
const maxBytes = fc.integer({ min: 1024, max: 2 ** 31 - 1 });
const members = fc.array(userId, { maxLength: MAX_MEMBERS - 1 });
/** Valid bodies of each parser, as the API documents them. */
const VALID = {
  create: fc.oneof(
    fc.record({ kind: fc.constant('direct'), user_id: userId }),
    fc.record(
      { kind: fc.constant('group'), title: fc.string({ minLength: 1, maxLength: 200 }), member_ids: members },
      { requiredKeys: ['kind', 'member_ids'] },
    ),
  ),
  add: fc.record({ user_ids: members }),
  send: fc.record({
    user_id: userId,
    conversation_id: canonicalId,
    client_msg_id: fc.stringMatching(/^[A-Za-z0-9._:-]{1,64}$/),
    body: fc.string({ minLength: 1, maxLength: MAX_BODY_BYTES / 4 }).filter((b) => b.trim() !== ''),
  }),
  sync: fc.record(
    {
      user_id: userId,
      positions: fc.array(
        fc.record(
          { conversation_id: canonicalId, seq: seqLike, epoch: fc.string({ minLength: 1, maxLength: 32 }) },
          { requiredKeys: ['conversation_id', 'seq'] },
        ),
        { maxLength: 4 },
      ),
      max_bytes: maxBytes,
    },
    { requiredKeys: ['user_id', 'positions'] },
  ),
  history: fc.record(
    {
      user_id: userId,
      conversation_id: canonicalId,
      before: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
      after: seqLike,
      limit: fc.integer({ min: 1, max: 1000 }),
      max_bytes: maxBytes,
    },
    { requiredKeys: ['user_id', 'conversation_id'] },
  ),
};
/** One field of any body replaced or added. */
const override = fc.oneof(
  fc.tuple(fc.constantFrom('conversation_id'), idLike),
  fc.tuple(fc.constantFrom('user_id', 'kind', 'title', 'client_msg_id', 'body'), fc.oneof(userIdLike, textLike)),
  fc.tuple(fc.constantFrom('member_ids', 'user_ids'), fc.array(userIdLike, { maxLength: MAX_MEMBERS + 1 })),
  fc.tuple(fc.constantFrom('positions'), fc.array(position, { maxLength: 3 })),
  fc.tuple(fc.constantFrom('before', 'after', 'limit', 'max_bytes'), intLike),
  fc.tuple(fc.constantFrom('__proto__', 'constructor', 'extra'), anyJson),
);
const nearValid = (valid: fc.Arbitrary<Record<string, unknown>>) =>
  fc.tuple(valid, fc.array(override, { maxLength: 2 })).map(([body, overrides]) => {
    const out: Record<string, unknown> = { ...body };
    for (const [key, value] of overrides) Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
    return out;
  });
/** Bodies as they arrive: parsed from JSON text (so `__proto__` is an own key, as JSON.parse makes it). */
const received = (valid: fc.Arbitrary<Record<string, unknown>>) =>
  fc.oneof(bodyish, nearValid(valid), nearValid(valid), anyJson).map((v) => JSON.parse(JSON.stringify(v) ?? 'null') as unknown);

const PARSERS: [string, (o: Obj) => unknown, fc.Arbitrary<Record<string, unknown>>][] = [
  ['create conversation', (o) => parseCreateConversation(o, MAX_MEMBERS), VALID.create],
  ['add members', (o) => parseAddMembers(o, MAX_MEMBERS), VALID.add],
  ['internal send', (o) => parseInternalSend(o, MAX_BODY_BYTES), VALID.send],
  ['internal sync', parseInternalSync, VALID.sync],
  ['internal history', parseInternalHistory, VALID.history],
];
const REFUSALS: ReadonlySet<ErrorDef> = new Set([Errors.INVALID_SHAPE, Errors.BODY_TOO_LARGE]);

/** Runs a parser as the routes do; fails the property on any throw but a documented ChatError. */
function parse(parser: (o: Obj) => unknown, value: unknown): { ok: unknown } | { refused: ErrorDef } {
  try {
    return { ok: parseWith(value, parser) };
  } catch (err) {
    if (!(err instanceof ChatError)) throw new Error(`parser threw ${String(err)}`);
    return { refused: err.def };
  }
}

/** Every conversation id and user id an accepted request names. */
function namesOf(request: unknown): { ids: string[]; users: string[] } {
  const r = request as Record<string, unknown>;
  const positions = (r.positions as { conversation_id: string }[] | undefined) ?? [];
  const ids = [...(typeof r.conversation_id === 'string' ? [r.conversation_id] : []), ...positions.map((p) => p.conversation_id)];
  const users = [
    ...(typeof r.user_id === 'string' ? [r.user_id] : []),
    ...((r.member_ids as string[] | undefined) ?? []),
    ...(Array.isArray(request) ? (request as string[]) : []),
  ];
  return { ids, users };
}

/** The body a client would send for an accepted request (the parsed form, with a null title left out). */
function asBody(request: unknown): unknown {
  if (Array.isArray(request)) return { user_ids: request };
  const r = { ...(request as Record<string, unknown>) };
  if (r.title === null) delete r.title;
  return r;
}

describe('REST and internal request bodies (property-based)', () => {
  for (const [name, parser, valid] of PARSERS) {
    it(
      `hostile input: ${name}: any JSON body is parsed or refused with a documented code; accepted ones name only canonical ids and valid user ids, and round-trip`,
      () => {
        let accepted = 0;
        fc.assert(
          fc.property(received(valid), (value) => {
            const out = parse(parser, value);
            if ('refused' in out) {
              expect(REFUSALS.has(out.refused), out.refused.name).toBe(true);
              return;
            }
            accepted++;
            const { ids, users } = namesOf(out.ok);
            for (const id of ids) expect(parseCanonicalId(id)).toBe(id);
            for (const user of users) expect(USER_ID_PATTERN.test(user), user).toBe(true);
            const again = parse(parser, JSON.parse(JSON.stringify(asBody(out.ok))));
            expect(again).toEqual({ ok: out.ok });
          }),
          RUNS,
        );
        expect(accepted, 'accepted bodies').toBeGreaterThan(RUNS.numRuns / 5);
      },
      TIMEOUT_MS,
    );

    it(
      `${name}: every body the API documents as valid is accepted`,
      () => {
        fc.assert(
          fc.property(valid, (body) => {
            expect(parse(parser, body)).toEqual({ ok: expect.anything() });
          }),
          RUNS,
        );
      },
      TIMEOUT_MS,
    );
  }

  it('hostile input: an integer written as -0 is read as 0 (the parsed request re-serializes as it was sent)', () => {
    const history = parseWith(JSON.parse('{"user_id":"a","conversation_id":"1","after":-0}'), parseInternalHistory);
    expect(Object.is(history.after, 0)).toBe(true);
    const sync = parseWith(JSON.parse('{"user_id":"a","positions":[{"conversation_id":"1","seq":-0}]}'), parseInternalSync);
    expect(Object.is(sync.positions[0]!.seq, 0)).toBe(true);
  });

  it(
    'hostile input: a path id is the canonical id exactly as written, or not_found',
    () => {
      fc.assert(
        fc.property(
          fc.oneof(
            idLike.map((v) => (typeof v === 'string' ? v : JSON.stringify(v))),
            fc.string({ maxLength: 25 }),
          ),
          (raw) => {
            let id: string | undefined;
            try {
              id = conversationIdParam(raw);
            } catch (err) {
              expect(err instanceof ChatError && err.def === Errors.NOT_FOUND).toBe(true);
              return;
            }
            expect(id).toBe(raw);
            expect(parseCanonicalId(id)).toBe(raw);
          },
        ),
        RUNS,
      );
    },
    TIMEOUT_MS,
  );

  it(
    'hostile input: query integers are whole numbers ≥ min and < 10^15, or invalid_shape',
    () => {
      const raw = fc.oneof(
        fc.string({ maxLength: 20 }),
        fc.nat().map(String),
        fc.constantFrom('-1', '1e3', '0x10', '１', '999999999999999', '1000000000000000', ''),
      );
      fc.assert(
        fc.property(raw, fc.integer({ min: 0, max: 2 }), (value, min) => {
          let n: number | undefined;
          try {
            n = queryInt(new URLSearchParams([['limit', value]]), 'limit', min);
          } catch (err) {
            expect(err instanceof ChatError && err.def === Errors.INVALID_SHAPE).toBe(true);
            return;
          }
          expect(Number.isSafeInteger(n)).toBe(true);
          expect(n!).toBeGreaterThanOrEqual(min);
          expect(n!).toBeLessThan(1e15);
          expect(n).toBe(Number(value));
        }),
        RUNS,
      );
    },
    TIMEOUT_MS,
  );
});
