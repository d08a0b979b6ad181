import { describe, expect, it } from 'vitest';
import { extractToken } from './upgrade-credentials.js';

const none = { authorization: '', secWebSocketProtocol: '', query: '' };

describe('extractToken', () => {
  it('reads Authorization: Bearer', () => {
    expect(extractToken({ ...none, authorization: 'Bearer abc.def.ghi' })).toEqual({ token: 'abc.def.ghi', subprotocol: '', source: 'header' });
    expect(extractToken({ ...none, authorization: 'bearer   t1 ' })?.token).toBe('t1');
  });

  it('ignores other Authorization schemes', () => {
    expect(extractToken({ ...none, authorization: 'Basic dXNlcjpwYXNz' })).toBeUndefined();
  });

  it('reads the browser subprotocol form and selects "bearer"', () => {
    expect(extractToken({ ...none, secWebSocketProtocol: 'bearer, abc.def.ghi' })).toEqual({
      token: 'abc.def.ghi',
      subprotocol: 'bearer',
      source: 'subprotocol',
    });
    expect(extractToken({ ...none, secWebSocketProtocol: 'chat.v1, bearer,tok' })?.token).toBe('tok');
  });

  it('refuses a bearer subprotocol without a token', () => {
    expect(extractToken({ ...none, secWebSocketProtocol: 'bearer' })).toBeUndefined();
  });

  it('reads ?access_token=', () => {
    expect(extractToken({ ...none, query: 'x=1&access_token=abc.def' })).toEqual({ token: 'abc.def', subprotocol: '', source: 'query' });
    expect(extractToken({ ...none, query: 'access_token=' })).toBeUndefined();
  });

  it('prefers the header over subprotocol over query', () => {
    const all = { authorization: 'Bearer h', secWebSocketProtocol: 'bearer, s', query: 'access_token=q' };
    expect(extractToken(all)?.source).toBe('header');
    expect(extractToken({ ...all, authorization: '' })?.source).toBe('subprotocol');
    expect(extractToken({ ...all, authorization: '', secWebSocketProtocol: '' })?.source).toBe('query');
  });

  it('returns undefined when nothing is present', () => {
    expect(extractToken(none)).toBeUndefined();
  });
});
