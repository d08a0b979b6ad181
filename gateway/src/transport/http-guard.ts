import { Errors } from '@chat/protocol';
import type { Logger } from '@chat/server/logger';
import { replyError } from './http-replies.js';
import type { HttpResponse } from './uws.js';

/**
 * One guard around a uWS HTTP or upgrade handler: an exception that escapes it would be uncaught
 * in uWS's native callback and end the process. The request gets INTERNAL instead (when the
 * response is still writable).
 */
export function guardHttp<A extends unknown[]>(log: Logger, handler: (res: HttpResponse, ...rest: A) => void): (res: HttpResponse, ...rest: A) => void {
  return (res, ...rest) => {
    try {
      handler(res, ...rest);
    } catch (err) {
      log.error({ err }, 'HTTP handler failed');
      try {
        replyError(res, Errors.INTERNAL);
      } catch {
        // Already answered or aborted: nothing left to tell the client.
      }
    }
  };
}
