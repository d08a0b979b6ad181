import { ChatError, Errors, USER_ID_PATTERN } from '@chat/protocol';
import { mintDevToken } from '@chat/server/auth';

export interface DevTokenSettings {
  secret: string;
  issuer: string;
  audience: string;
  /** Lifetime of a token; the SDK refreshes it in band before it expires. */
  ttlSeconds: number;
}

/** What POST /dev/token answers. */
export interface DevTokenReply {
  token: string;
  user_id: string;
  /** ms since the epoch */
  expires_at: number;
}

/**
 * A development token for the user id in `body` (`{"user_id":"alice"}`), the same token
 * `npm run token` prints. Development only: whoever reaches the endpoint can be anyone.
 * A body that is not such JSON is 4002 invalid_shape.
 */
export function issueDevToken(settings: DevTokenSettings, body: string, now = Date.now()): DevTokenReply {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new ChatError(Errors.INVALID_SHAPE, 'body must be JSON {"user_id":"…"}');
  }
  const userId = (parsed as { user_id?: unknown } | null)?.user_id;
  if (typeof userId !== 'string' || !USER_ID_PATTERN.test(userId)) {
    throw new ChatError(Errors.INVALID_SHAPE, 'user_id must match [A-Za-z0-9._:@-]{1,128}');
  }
  const token = mintDevToken(settings.secret, userId, { issuer: settings.issuer, audience: settings.audience, ttlSeconds: settings.ttlSeconds });
  return { token, user_id: userId, expires_at: now + settings.ttlSeconds * 1000 };
}
