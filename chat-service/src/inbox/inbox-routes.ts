import { ChatError, Errors, INBOX_CURSOR_MAX, INBOX_CURSOR_PATTERN, LARGE_FIRST_PAGE_MAX, isObject, reqInt } from '@chat/protocol';
import { readJson, sendJson } from '../http/http-utils.js';
import { conversationIdParam, parseWith, queryInt } from '../http/request-parsers.js';
import type { RouteContext, Router } from '../http/router.js';
import type { InboxService } from './inbox-service.js';
import type { ReadCounts } from './read-counts.js';

const MAX_BODY = 4096;

function cursorParam(query: URLSearchParams): string | undefined {
  const raw = query.get('cursor');
  if (raw === null) return undefined;
  if (raw.length === 0 || raw.length > INBOX_CURSOR_MAX || !INBOX_CURSOR_PATTERN.test(raw))
    throw new ChatError(Errors.INVALID_SHAPE, 'cursor: not a cursor this server issued');
  return raw;
}

/** `large_first_page`: 1 to LARGE_FIRST_PAGE_MAX in canonical decimal; anything else is 4002. */
function largeFirstPageParam(query: URLSearchParams): number | undefined {
  const raw = query.get('large_first_page');
  if (raw === null) return undefined;
  if (!/^[1-9][0-9]{0,2}$/.test(raw) || Number(raw) > LARGE_FIRST_PAGE_MAX)
    throw new ChatError(Errors.INVALID_SHAPE, `large_first_page: must be an integer between 1 and ${LARGE_FIRST_PAGE_MAX}`);
  return Number(raw);
}

/** A seq in a REST path: canonical decimal (no sign, no leading zeros), 1 ≤ seq < 2^53; anything else names no message (404). */
function seqParam(raw: string | undefined): number {
  if (raw === undefined || !/^[1-9][0-9]{0,15}$/.test(raw) || !Number.isSafeInteger(Number(raw))) throw new ChatError(Errors.NOT_FOUND, 'no such message');
  return Number(raw);
}

/** GET /v1/inbox, GET /v1/conversation-list, PUT /v1/conversations/:id/read and /mute, GET …/messages/:seq/read-count (docs/PROTOCOL.md). */
export function registerInboxRoutes(
  router: Router,
  authed: (h: (ctx: RouteContext, userId: string) => Promise<void>) => (ctx: RouteContext) => Promise<void>,
  inbox: InboxService,
  readCounts: ReadCounts,
): void {
  router.on(
    'GET',
    '/v1/conversations/:id/messages/:seq/read-count',
    authed(async ({ res, params }, userId) => sendJson(res, 200, await readCounts.count(userId, conversationIdParam(params.id), seqParam(params.seq)))),
  );
  router.on(
    'GET',
    '/v1/inbox',
    authed(async ({ res, query }, userId) =>
      sendJson(res, 200, await inbox.everythingNew(userId, { cursor: cursorParam(query), largeFirstPage: largeFirstPageParam(query) })),
    ),
  );
  router.on(
    'GET',
    '/v1/conversation-list',
    authed(async ({ res, query }, userId) => {
      const limit = Math.min(queryInt(query, 'limit', 1) ?? 50, 200);
      sendJson(res, 200, await inbox.conversationList(userId, cursorParam(query), limit));
    }),
  );
  router.on(
    'PUT',
    '/v1/conversations/:id/read',
    authed(async ({ req, res, params }, userId) => {
      const seq = parseWith(await readJson(req, MAX_BODY), (o) => reqInt(o, 'seq', 0, Number.MAX_SAFE_INTEGER));
      sendJson(res, 200, { read_seq: await inbox.markRead(userId, conversationIdParam(params.id), seq) });
    }),
  );
  router.on(
    'PUT',
    '/v1/conversations/:id/mute',
    authed(async ({ req, res, params }, userId) => {
      const muted = parseWith(await readJson(req, MAX_BODY), (o) => {
        if (!isObject(o) || typeof o.muted !== 'boolean') throw new ChatError(Errors.INVALID_SHAPE, 'muted: must be true or false');
        return o.muted;
      });
      await inbox.setMuted(userId, conversationIdParam(params.id), muted);
      sendJson(res, 200, { muted });
    }),
  );
}
