import { ChatError, Errors, parseCanonicalId } from '@chat/protocol';
import {
  MAX_AUTHORIZE_USERS,
  MAX_QUERY_BATCH_USERS,
  MAX_QUERY_USERS,
  MAX_USERS_PER_REQUEST,
  type PresenceAuthorizeRequest,
  type PresenceQueryRequest,
  type PresenceReportRequest,
  type TypingRequest,
} from '@chat/protocol/internal';

function fail(detail: string): never {
  throw new ChatError(Errors.INVALID_SHAPE, detail);
}

function obj(v: unknown): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail('body must be an object');
  return v as Record<string, unknown>;
}

function id(v: unknown, field: string): string {
  if (typeof v !== 'string' || v === '' || v.length > 128) fail(`${field} must be a non-empty string`);
  return v;
}

function ids(v: unknown, field: string, max = MAX_USERS_PER_REQUEST): string[] {
  if (!Array.isArray(v) || v.length > max) fail(`${field} must be an array of at most ${max} ids`);
  return v.map((x) => id(x, field));
}

export function parseReport(body: unknown): PresenceReportRequest {
  const b = obj(body);
  return { gateway_id: id(b.gateway_id, 'gateway_id'), online: ids(b.online ?? [], 'online'), offline: ids(b.offline ?? [], 'offline') };
}

/** A list of checks (watcher, users it asks about): at most `perCheck` ids each and `total` ids in all. */
function checks(body: unknown, perCheck: number, total: number): { user_id: string; user_ids: string[] }[] {
  const b = obj(body);
  if (!Array.isArray(b.checks)) fail('checks must be an array');
  let count = 0;
  return b.checks.map((c: unknown) => {
    const check = obj(c);
    const userIds = ids(check.user_ids, 'user_ids', perCheck);
    count += userIds.length;
    if (count > total) fail(`at most ${total} user ids per request`);
    return { user_id: id(check.user_id, 'user_id'), user_ids: userIds };
  });
}

export function parseQuery(body: unknown): PresenceQueryRequest {
  return { checks: checks(body, MAX_QUERY_USERS, MAX_QUERY_BATCH_USERS) };
}

export function parseAuthorize(body: unknown): PresenceAuthorizeRequest {
  return { checks: checks(body, MAX_AUTHORIZE_USERS, MAX_AUTHORIZE_USERS) };
}

export function parseTyping(body: unknown): TypingRequest {
  const b = obj(body);
  if (b.state !== 'start' && b.state !== 'stop') fail('state must be "start" or "stop"');
  const conversationId = parseCanonicalId(b.conversation_id);
  if (conversationId === undefined) fail('conversation_id must be a canonical id');
  return { user_id: id(b.user_id, 'user_id'), conversation_id: conversationId, state: b.state };
}
