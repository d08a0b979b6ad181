import { ChatError, Errors, type ErrorDef, type ErrorFrame } from '@chat/protocol';

/** An `error` frame for a registry error, echoing `ref` when there is one. */
export function errorFrame(def: ErrorDef, ref: string | undefined, message: string = def.message, retryAfterMs?: number): ErrorFrame {
  return {
    type: 'error',
    ...(ref !== undefined ? { ref } : {}),
    code: def.code,
    name: def.name,
    message,
    retry: def.retry,
    ...(retryAfterMs !== undefined ? { retry_after_ms: retryAfterMs } : {}),
  };
}

/** Any thrown value as an error frame; non-ChatErrors become INTERNAL without leaking details. */
export function errorFrameFor(err: unknown, ref: string | undefined): ErrorFrame {
  if (err instanceof ChatError) return errorFrame(err.def, ref, err.message, err.retryAfterMs);
  return errorFrame(Errors.INTERNAL, ref);
}
