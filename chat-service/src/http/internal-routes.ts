import { ChatError, Errors, optInt, reqArray, type EverythingNew } from '@chat/protocol';
import {
  INTERNAL_PATHS,
  MAX_SEND_BATCH,
  MAX_SYNC_BATCH,
  MAX_SYNC_BATCH_POSITIONS,
  type InternalBatchResult,
  type InternalLatestResponse,
  type InternalPushStateResponse,
  type InternalReadResponse,
  type InternalSendBatchResponse,
  type InternalSendResult,
  type InternalSyncBatchResponse,
  type InternalSyncRequest,
  type InternalSyncResponse,
} from '@chat/protocol/internal';
import { checkInternalToken } from '@chat/server/http';
import type { Logger } from '@chat/server/logger';
import type { InboxService } from '../inbox/inbox-service.js';
import type { PushStateService } from '../inbox/push-state.js';
import type { ReadService } from '../read/read-service.js';
import type { SendMetrics, SendService } from '../send/send-service.js';
import { answerBy } from '../resilience/deadline.js';
import { toChatError } from '../resilience/infra-errors.js';
import { readJson, sendJson } from './http-utils.js';
import {
  parseInternalHistory,
  parseInternalInbox,
  parseInternalLatest,
  parseInternalPushState,
  parseInternalRead,
  parseInternalSend,
  parseInternalSync,
  parseWith,
} from './request-parsers.js';
import type { Router } from './router.js';

/** A full sync batch: MAX_SYNC_BATCH_POSITIONS positions of ~100 bytes each, and room for ids. */
const SYNC_BATCH_MAX_BODY_BYTES = 1024 * 1024;

/** The API gateways call; the user id in each body is the JWT subject the gateway verified. */
export function registerInternalRoutes(
  router: Router,
  deps: {
    internalToken: string;
    sends: SendService;
    reads: ReadService;
    inbox: InboxService;
    pushStates: PushStateService;
    maxBodyBytes: number;
    sendDeadlineMs: number;
    metrics: SendMetrics;
    log: Logger;
  },
): void {
  const expected = deps.internalToken;
  const maxRequest = deps.maxBodyBytes * 2 + 4096;
  router.on('POST', INTERNAL_PATHS.sendBatch, async ({ req, res }) => {
    checkInternalToken(req.headers, expected);
    const received = Date.now();
    const arrived = performance.now();
    const { items, budgetMs } = parseWith(await readJson(req, maxRequest * MAX_SEND_BATCH), (o) => ({
      items: reqArray(o, 'requests', MAX_SEND_BATCH),
      budgetMs: optInt(o, 'budget_ms', 0, 24 * 3600 * 1000),
    }));
    // Every item is answered by its deadline: the caller's remaining budget, at most SEND_DEADLINE_MS.
    const deadline = received + Math.min(budgetMs ?? deps.sendDeadlineMs, deps.sendDeadlineMs);
    // Each item stands alone: a bad or refused item gets its own error, the others go through.
    const results = await Promise.all(
      items.map(async (item): Promise<InternalSendResult> => {
        let send: ReturnType<typeof parseInternalSend> | undefined;
        try {
          send = parseWith(item, (o) => parseInternalSend(o, deps.maxBodyBytes));
          return { ok: await answerBy(deadline, deps.sends.send(send, deadline)) };
        } catch (err) {
          const chatError = toChatError(err);
          // Ids only (never the body): they tie this line to the client's send and its retries.
          if (chatError.def === Errors.INTERNAL)
            deps.log.error({ err, conversation_id: send?.conversation_id, client_msg_id: send?.client_msg_id }, 'send failed');
          return { error: chatError.toJSON() };
        }
      }),
    );
    const response: InternalSendBatchResponse = { results };
    sendJson(res, 200, response);
    const seconds = (performance.now() - arrived) / 1000;
    for (let i = 0; i < results.length; i++) deps.metrics.observeSendStage('total', seconds);
  });
  router.on('POST', INTERNAL_PATHS.syncBatch, async ({ req, res }) => {
    checkInternalToken(req.headers, expected);
    const items = parseWith(await readJson(req, SYNC_BATCH_MAX_BODY_BYTES), (o) => reqArray(o, 'requests', MAX_SYNC_BATCH));
    // Each item stands alone: a bad item gets its own error, the others are synced together.
    const parsed = items.map((item): InternalSyncRequest | ChatError => {
      try {
        return parseWith(item, parseInternalSync);
      } catch (err) {
        return toChatError(err);
      }
    });
    const valid = parsed.filter((p): p is InternalSyncRequest => !(p instanceof ChatError));
    const positions = valid.reduce((n, r) => n + r.positions.length, 0);
    if (valid.length > 1 && positions > MAX_SYNC_BATCH_POSITIONS) {
      throw new ChatError(Errors.INVALID_SHAPE, `a batch of several syncs holds at most ${MAX_SYNC_BATCH_POSITIONS} positions`);
    }
    const synced = await deps.reads.syncMany(valid.map((r) => ({ userId: r.user_id, positions: r.positions, maxBytes: r.max_bytes })));
    let next = 0;
    const results = parsed.map((p): InternalBatchResult<InternalSyncResponse> => {
      if (p instanceof ChatError) return { error: p.toJSON() };
      const result = synced[next++]!;
      if (!(result instanceof Error)) return { ok: { conversations: result } };
      const chatError = toChatError(result);
      if (chatError.def === Errors.INTERNAL) deps.log.error({ err: result, user_id: p.user_id }, 'sync failed');
      return { error: chatError.toJSON() };
    });
    const response: InternalSyncBatchResponse = { results };
    sendJson(res, 200, response);
  });
  router.on('POST', INTERNAL_PATHS.history, async ({ req, res }) => {
    checkInternalToken(req.headers, expected);
    sendJson(res, 200, await deps.reads.history(parseWith(await readJson(req, 64 * 1024), parseInternalHistory)));
  });
  router.on('POST', INTERNAL_PATHS.read, async ({ req, res }) => {
    checkInternalToken(req.headers, expected);
    const body = parseWith(await readJson(req, 4096), parseInternalRead);
    const response: InternalReadResponse = {
      conversation_id: body.conversation_id,
      read_seq: await deps.inbox.markRead(body.user_id, body.conversation_id, body.seq),
    };
    sendJson(res, 200, response);
  });
  router.on('POST', INTERNAL_PATHS.inbox, async ({ req, res }) => {
    checkInternalToken(req.headers, expected);
    const body = parseWith(await readJson(req, 4096), parseInternalInbox);
    const page: EverythingNew = await deps.inbox.everythingNew(body.user_id, {
      cursor: body.cursor,
      maxBytes: body.max_bytes,
      largeFirstPage: body.large_first_page,
    });
    sendJson(res, 200, page);
  });
  router.on('POST', INTERNAL_PATHS.latest, async ({ req, res }) => {
    checkInternalToken(req.headers, expected);
    const body = parseWith(await readJson(req, 64 * 1024), parseInternalLatest);
    const response: InternalLatestResponse = { conversations: await deps.reads.latest(body.conversation_ids) };
    sendJson(res, 200, response);
  });
  // The notifier's read of recipients' state before it pushes (read position, mute, membership, badge).
  router.on('POST', INTERNAL_PATHS.pushState, async ({ req, res }) => {
    checkInternalToken(req.headers, expected);
    const body = parseWith(await readJson(req, 128 * 1024), parseInternalPushState);
    const response: InternalPushStateResponse = { states: await deps.pushStates.states(body) };
    sendJson(res, 200, response);
  });
}
