import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { ChatError, Errors, INTERNAL_PATHS, INTERNAL_TOKEN_HEADER } from '@chat/shared';
import type { ReadService } from '../read/read-service.js';
import type { SendService } from '../send/send-service.js';
import { readJson, sendJson } from './http-utils.js';
import { parseInternalHistory, parseInternalSend, parseInternalSync, parseWith } from './request-parsers.js';
import type { Router } from './router.js';

function checkInternalToken(req: IncomingMessage, expected: Buffer): void {
  const given = Buffer.from(String(req.headers[INTERNAL_TOKEN_HEADER] ?? ''));
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new ChatError(Errors.UNAUTHORIZED);
}

/** The API gateways call; the user id in each body is the JWT subject the gateway verified. */
export function registerInternalRoutes(
  router: Router,
  deps: { internalToken: string; sends: SendService; reads: ReadService; maxBodyBytes: number },
): void {
  const expected = Buffer.from(deps.internalToken);
  const maxRequest = deps.maxBodyBytes * 2 + 4096;
  router.on('POST', INTERNAL_PATHS.send, async ({ req, res }) => {
    checkInternalToken(req, expected);
    const body = parseWith(await readJson(req, maxRequest), (o) => parseInternalSend(o, deps.maxBodyBytes));
    sendJson(res, 200, await deps.sends.send(body));
  });
  router.on('POST', INTERNAL_PATHS.sync, async ({ req, res }) => {
    checkInternalToken(req, expected);
    const body = parseWith(await readJson(req, 1024 * 1024), parseInternalSync);
    sendJson(res, 200, { conversations: await deps.reads.sync(body.user_id, body.positions) });
  });
  router.on('POST', INTERNAL_PATHS.history, async ({ req, res }) => {
    checkInternalToken(req, expected);
    sendJson(res, 200, await deps.reads.history(parseWith(await readJson(req, 64 * 1024), parseInternalHistory)));
  });
}
