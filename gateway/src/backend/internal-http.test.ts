import { Errors } from '@chat/protocol';
import { describe, expect, it } from 'vitest';
import { ServiceUnreachableError, InternalHttp, chatErrorFromBody } from './internal-http.js';
import { createServer } from 'node:http';

describe('chatErrorFromBody', () => {
  it('keeps the code, name, message and retry flag of a registry error', () => {
    const e = chatErrorFromBody(403, { error: { code: 4003, name: 'not_member', message: 'nope', retry: false } });
    expect(e.toJSON()).toEqual({ code: Errors.NOT_MEMBER.code, name: 'not_member', message: 'nope', retry: false });
  });
  it('maps a body-less 5xx to UNAVAILABLE', () => {
    expect(chatErrorFromBody(502, undefined).def).toBe(Errors.UNAVAILABLE);
  });
});

describe('InternalHttp failures', () => {
  it('calls a refused connection unreachable, and a request left unanswered a plain timeout', async () => {
    const silent = createServer(() => undefined); // accepts, never answers
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    const port = (silent.address() as { port: number }).port;
    const hung = new InternalHttp({ url: `http://127.0.0.1:${port}`, internalToken: 't', service: 'svc', timeoutMs: 200, connections: 1 });
    const err = await hung.post('/x', {}).catch((e: unknown) => e);
    expect(err).not.toBeInstanceOf(ServiceUnreachableError);
    expect((err as { def: unknown }).def).toBe(Errors.UNAVAILABLE);
    await hung.close();
    silent.closeAllConnections();
    await new Promise<void>((r) => silent.close(() => r()));

    const refused = new InternalHttp({ url: `http://127.0.0.1:${port}`, internalToken: 't', service: 'svc', timeoutMs: 200, connections: 1 });
    expect(await refused.post('/x', {}).catch((e: unknown) => e)).toBeInstanceOf(ServiceUnreachableError);
    await refused.close();
  });
});
