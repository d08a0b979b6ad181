import { describe, expect, it } from 'vitest';
import { AttachmentsClient } from './attachments-client.js';
import { ChatRequestError } from './errors.js';
import { RestCaller } from './rest-caller.js';

/** Like a browser's fetch: called as a method of any object but the global one, it throws. */
function browserLikeFetch(replies: Response[]): { fetch: typeof fetch; calls: [string, RequestInit | undefined][] } {
  const calls: [string, RequestInit | undefined][] = [];
  const impl = function (this: unknown, input: string | URL | Request, init?: RequestInit): Promise<Response> {
    if (this !== undefined && this !== globalThis) throw new TypeError("Failed to execute 'fetch' on 'Window': Illegal invocation");
    calls.push([String(input), init]);
    const reply = replies.shift();
    return reply ? Promise.resolve(reply) : Promise.reject(new Error('no reply left'));
  };
  return { fetch: impl as typeof fetch, calls };
}

const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

describe('RestCaller', () => {
  it('calls fetch as a plain function (a browser refuses it as a method of another object), with the bearer token', async () => {
    const { fetch, calls } = browserLikeFetch([json(200, { ok: true })]);
    const caller = new RestCaller({ baseUrl: 'http://api.test/', getToken: () => 't0k', fetch }, 'Test');
    await expect(caller.call('PUT', '/v1/x', { a: 1 })).resolves.toEqual({ ok: true });
    expect(calls).toEqual([['http://api.test/v1/x', expect.objectContaining({ method: 'PUT', body: '{"a":1}' })]]);
    expect((calls[0]![1]!.headers as Record<string, string>).authorization).toBe('Bearer t0k');
  });

  it('AttachmentsClient downloads through the same plain call', async () => {
    const { fetch } = browserLikeFetch([json(200, { url: 'http://store.test/o', expires_at: 1 }), new Response(new Uint8Array([1, 2, 3]))]);
    const files = new AttachmentsClient({ baseUrl: 'http://api.test', getToken: () => 't', fetch });
    expect([...(await files.download('7'))]).toEqual([1, 2, 3]);
  });

  it('an error body rejects with ChatRequestError carrying its registry code', async () => {
    const { fetch } = browserLikeFetch([json(403, { error: { code: 4003, name: 'not_member', message: 'no', retry: false } })]);
    const caller = new RestCaller({ baseUrl: 'http://api.test', getToken: () => 't', fetch }, 'Test');
    await expect(caller.call('GET', '/v1/y')).rejects.toMatchObject({ constructor: ChatRequestError, code: 4003, name: 'not_member' });
  });
});
