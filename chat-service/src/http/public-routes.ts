import type { IncomingMessage } from 'node:http';
import { ChatError, Errors, rateLimited } from '@chat/protocol';
import { TokenError, type TokenVerifier } from '@chat/server/auth';
import { addressKey, type InstantRateLimiter } from '@chat/server/rate-limit';
import { registerAttachmentRoutes } from '../attachments/attachment-routes.js';
import type { AttachmentService } from '../attachments/attachment-service.js';
import type { ConversationService } from '../conversations/conversation-service.js';
import { registerDeviceRoutes } from '../devices/device-routes.js';
import type { DeviceService } from '../devices/device-service.js';
import { registerInboxRoutes } from '../inbox/inbox-routes.js';
import type { ReadCounts } from '../inbox/read-counts.js';
import type { InboxService } from '../inbox/inbox-service.js';
import type { ReadService } from '../read/read-service.js';
import { readJson, sendJson } from './http-utils.js';
import { conversationIdParam, parseAddMembers, parseCreateConversation, parseWith, queryInt } from './request-parsers.js';
import type { RouteContext, Router } from './router.js';

const MAX_REST_BODY = 1024 * 1024;

async function bearerUser(req: IncomingMessage, verifier: TokenVerifier): Promise<string> {
  const header = req.headers.authorization ?? '';
  const m = /^Bearer ([A-Za-z0-9._~+/=-]+)$/.exec(header);
  if (!m?.[1]) throw new ChatError(Errors.UNAUTHORIZED);
  try {
    return (await verifier.verifyAsync(m[1])).userId;
  } catch (err) {
    if (err instanceof TokenError) throw new ChatError(Errors.UNAUTHORIZED, `invalid token: ${err.message}`);
    throw err;
  }
}

/** Request rates of the public API: per source address before the token is verified, then per user. */
export interface RestRateLimits {
  perAddress: InstantRateLimiter;
  perUser: InstantRateLimiter;
}

function admit(limiter: InstantRateLimiter, key: string, message: string): void {
  const wait = limiter.take(key);
  if (wait > 0) throw rateLimited(wait, message);
}

/**
 * The public REST API (`/v1`), authenticated by the same JWTs as WebSocket connections. Every
 * request counts against its source address (first, so a flood costs no token verification) and
 * then its user; over either limit it gets 429 RATE_LIMITED with `Retry-After`.
 */
export function registerPublicRoutes(
  router: Router,
  deps: {
    verifier: TokenVerifier;
    conversations: ConversationService;
    reads: ReadService;
    attachments: AttachmentService;
    devices: DeviceService;
    inbox: InboxService;
    readCounts: ReadCounts;
    maxGroupMembers: number;
    limits: RestRateLimits;
  },
): void {
  const authed = (handler: (ctx: RouteContext, userId: string) => Promise<void>) => async (ctx: RouteContext) => {
    admit(deps.limits.perAddress, addressKey(ctx.req.socket.remoteAddress ?? ''), 'too many requests from this address');
    const userId = await bearerUser(ctx.req, deps.verifier);
    admit(deps.limits.perUser, userId, 'too many requests by this user');
    return handler(ctx, userId);
  };

  router.on(
    'POST',
    '/v1/conversations',
    authed(async ({ req, res }, userId) => {
      const body = parseWith(await readJson(req, MAX_REST_BODY), (o) => parseCreateConversation(o, deps.maxGroupMembers));
      if (body.kind === 'direct') {
        const { conversation, created } = await deps.conversations.createDirect(userId, body.user_id);
        sendJson(res, created ? 201 : 200, { conversation });
      } else {
        sendJson(res, 201, { conversation: await deps.conversations.createGroup(userId, body.title, body.member_ids) });
      }
    }),
  );
  router.on(
    'GET',
    '/v1/conversations',
    authed(async ({ res }, userId) => sendJson(res, 200, { conversations: await deps.conversations.listMine(userId) })),
  );
  router.on(
    'GET',
    '/v1/conversations/:id',
    authed(async ({ res, params }, userId) => sendJson(res, 200, await deps.conversations.get(userId, conversationIdParam(params.id)))),
  );
  router.on(
    'POST',
    '/v1/conversations/:id/members',
    authed(async ({ req, res, params }, userId) => {
      const ids = parseWith(await readJson(req, MAX_REST_BODY), (o) => parseAddMembers(o, deps.maxGroupMembers));
      await deps.conversations.addMembers(userId, conversationIdParam(params.id), ids);
      sendJson(res, 200, { ok: true });
    }),
  );
  router.on(
    'DELETE',
    '/v1/conversations/:id/members/:user',
    authed(async ({ res, params }, userId) => {
      await deps.conversations.removeMember(userId, conversationIdParam(params.id), params.user ?? '');
      sendJson(res, 200, { ok: true });
    }),
  );
  router.on(
    'GET',
    '/v1/conversations/:id/messages',
    authed(async ({ res, params, query }, userId) => {
      const before = queryInt(query, 'before', 1);
      const after = queryInt(query, 'after', 0);
      const limit = queryInt(query, 'limit', 1);
      const page = await deps.reads.history({
        user_id: userId,
        conversation_id: conversationIdParam(params.id),
        ...(before !== undefined ? { before } : {}),
        ...(after !== undefined ? { after } : {}),
        ...(limit !== undefined ? { limit } : {}),
      });
      sendJson(res, 200, page);
    }),
  );
  registerAttachmentRoutes(router, authed, deps.attachments);
  registerDeviceRoutes(router, authed, deps.devices);
  registerInboxRoutes(router, authed, deps.inbox, deps.readCounts);
}
