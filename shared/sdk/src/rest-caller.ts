import { ChatRequestError } from './errors.js';

export interface RestOptions {
  /** chat-service's public REST base URL, e.g. `https://chat.example.com` (no trailing `/v1`). */
  baseUrl: string;
  /** The same access token as the WebSocket connection's. */
  getToken: () => string | Promise<string>;
  /** @default globalThis.fetch */
  fetch?: typeof fetch;
}

/** JSON calls to chat-service's REST API with the user's token; error bodies reject with ChatRequestError (registry codes). */
export class RestCaller {
  readonly fetchImpl: typeof fetch;
  private readonly baseUrl: string;

  constructor(
    private readonly options: RestOptions,
    client: string,
  ) {
    const impl = options.fetch ?? (typeof fetch === 'function' ? fetch : undefined);
    if (!impl) throw new TypeError(`${client}: no fetch implementation; pass options.fetch`);
    // Called as a plain function: a browser's fetch throws "Illegal invocation" when called as a method of another object.
    this.fetchImpl = (input, init) => impl(input, init);
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
  }

  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const token = await this.options.getToken();
    const res = await this.fetchImpl(`${this.baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const json = (await res.json().catch(() => null)) as {
      error?: { code: number; name: string; message: string; retry: boolean; retry_after_ms?: number };
    } | null;
    if (!res.ok) {
      const e = json?.error;
      throw new ChatRequestError(e ?? { code: 0, name: 'http_error', message: `HTTP ${res.status}`, retry: res.status >= 500 });
    }
    return json as T;
  }
}
