import uWS from 'uWebSockets.js';

export { uWS };
export type { HttpRequest, HttpResponse, TemplatedApp, WebSocket, us_listen_socket, us_socket_context_t } from 'uWebSockets.js';

/**
 * The uWebSockets.js package we install silently falls back to a slow pure-JS implementation when
 * its native binary does not load (or when UWS_USE_FALLBACK is set). Returns why the loaded
 * implementation is not the native one, or undefined when it is.
 */
export function uwsFallbackProblem(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.UWS_USE_FALLBACK !== undefined) {
    return 'UWS_USE_FALLBACK is set: refusing to run the gateway on the pure-JS uWebSockets.js fallback; unset it';
  }
  if (typeof uWS.App !== 'function' || !Function.prototype.toString.call(uWS.App).includes('[native code]')) {
    return (
      'uWebSockets.js loaded its pure-JS fallback, not the native binary ' +
      `(platform ${process.platform}-${process.arch}, Node ABI ${process.versions.modules}); ` +
      'the gateway refuses to run on it. Use Node 20 on glibc >= 2.27.'
    );
  }
  return undefined;
}

/** Throws when uWS is not the native implementation. */
export function assertNativeUws(env: NodeJS.ProcessEnv = process.env): void {
  const problem = uwsFallbackProblem(env);
  if (problem !== undefined) throw new Error(problem);
}
