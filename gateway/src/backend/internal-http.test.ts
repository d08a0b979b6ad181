import { Errors } from '@chat/protocol';
import { listenInternal } from '@chat/server/http';
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
  it('gives up at the request deadline on a reply that trickles in faster than the per-read timeout', async () => {
    const trickle = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"a":');
      const tick = setInterval(() => res.write(' '), 50); // each byte well within the 300 ms read timeout
      res.on('close', () => clearInterval(tick));
    });
    const listener = await listenInternal(trickle, '127.0.0.1', 0);
    const http = new InternalHttp({ url: `http://127.0.0.1:${listener.port}`, internalToken: 't', service: 'svc', timeoutMs: 300, connections: 1 });
    const started = Date.now();
    const err = await http.post('/x', {}).catch((e: unknown) => e);
    expect((err as { def: unknown }).def).toBe(Errors.UNAVAILABLE);
    expect(Date.now() - started).toBeLessThan(2000);
    await http.close();
    await listener.close();
  });

  it('leaves no timer behind once a request is answered', async () => {
    const quick = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}'));
    const listener = await listenInternal(quick, '127.0.0.1', 0);
    const http = new InternalHttp({ url: `http://127.0.0.1:${listener.port}`, internalToken: 't', service: 'svc', timeoutMs: 60_000, connections: 1 });
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    await http.post('/x', {}); // warm: the pool's own keep-alive timers exist from here on
    const before = timers();
    for (let i = 0; i < 20; i++) expect(await http.post('/x', {})).toEqual({ ok: true });
    expect(timers()).toBeLessThanOrEqual(before);
    await http.close();
    await listener.close();
  });
});
