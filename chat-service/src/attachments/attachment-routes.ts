import { ChatError, Errors, parseCanonicalId } from '@chat/protocol';
import { readJson, sendJson } from '../http/http-utils.js';
import { conversationIdParam, parseWith } from '../http/request-parsers.js';
import type { RouteContext, Router } from '../http/router.js';
import { parseUploadDeclaration } from './attachment-parsers.js';
import type { AttachmentService } from './attachment-service.js';

const MAX_DECLARATION_BYTES = 4096;

type Authed = (handler: (ctx: RouteContext, userId: string) => Promise<void>) => (ctx: RouteContext) => Promise<void>;

function attachmentIdParam(raw: string | undefined): string {
  const id = parseCanonicalId(raw);
  if (id === undefined) throw new ChatError(Errors.NOT_FOUND, 'no such attachment');
  return id;
}

/**
 * Attachment endpoints of the public REST API: request an upload (a pre-signed PUT), complete it,
 * get a download URL. `authed` is the public API's authentication and rate limiting.
 */
export function registerAttachmentRoutes(router: Router, authed: Authed, attachments: AttachmentService): void {
  router.on(
    'POST',
    '/v1/conversations/:id/attachments',
    authed(async ({ req, res, params }, userId) => {
      const declaration = parseWith(await readJson(req, MAX_DECLARATION_BYTES), parseUploadDeclaration);
      sendJson(res, 201, await attachments.requestUpload(userId, conversationIdParam(params.id), declaration));
    }),
  );
  router.on(
    'POST',
    '/v1/attachments/:id/complete',
    authed(async ({ res, params }, userId) => sendJson(res, 200, { attachment: await attachments.complete(userId, attachmentIdParam(params.id)) })),
  );
  router.on(
    'GET',
    '/v1/attachments/:id/download',
    authed(async ({ res, params }, userId) => sendJson(res, 200, await attachments.download(userId, attachmentIdParam(params.id)))),
  );
}
