import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import {
  ChatError,
  Errors,
  INTERNAL_PATHS,
  INTERNAL_TOKEN_HEADER,
  MAX_SEND_BATCH,
  reqArray,
  type InternalSendBatchResponse,
  type InternalSendResult,
  type Logger,
} from '@chat/shared';
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
  deps: { internalToken: string; sends: SendService; reads: ReadService; maxBodyBytes: number; log: Logger },
): void {
  const expected = Buffer.from(deps.internalToken);
  const maxRequest = deps.maxBodyBytes * 2 + 4096;
  router.on('POST', INTERNAL_PATHS.sendBatch, async ({ req, res }) => {
    checkInternalToken(req, expected);
    const items = parseWith(await readJson(req, maxRequest * MAX_SEND_BATCH), (o) => reqArray(o, 'requests', MAX_SEND_BATCH));
    // Each item stands alone: a bad or refused item gets its own error, the others go through.
    const results = await Promise.all(
      items.map(async (item): Promise<InternalSendResult> => {
        try {
          return { ok: await deps.sends.send(parseWith(item, (o) => parseInternalSend(o, deps.maxBodyBytes))) };
        } catch (err) {
          if (!(err instanceof ChatError)) deps.log.error({ err: (err as Error).message }, 'send failed');
          return { error: (err instanceof ChatError ? err : new ChatError(Errors.INTERNAL)).toJSON() };
        }
      }),
    );
    const response: InternalSendBatchResponse = { results };
    sendJson(res, 200, response);
  });
  router.on('POST', INTERNAL_PATHS.sync, async ({ req, res }) => {
    checkInternalToken(req, expected);
    const body = parseWith(await readJson(req, 1024 * 1024), parseInternalSync);
    sendJson(res, 200, { conversations: await deps.reads.sync(body.user_id, body.positions, body.max_bytes) });
  });
  router.on('POST', INTERNAL_PATHS.history, async ({ req, res }) => {
    checkInternalToken(req, expected);
    sendJson(res, 200, await deps.reads.history(parseWith(await readJson(req, 64 * 1024), parseInternalHistory)));
  });
}
