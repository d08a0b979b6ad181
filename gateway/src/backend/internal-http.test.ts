import { Errors } from '@chat/protocol';
import { describe, expect, it } from 'vitest';
import { chatErrorFromBody } from './internal-http.js';

describe('chatErrorFromBody', () => {
  it('keeps the code, name, message and retry flag of a registry error', () => {
    const e = chatErrorFromBody(403, { error: { code: 4003, name: 'not_member', message: 'nope', retry: false } });
    expect(e.toJSON()).toEqual({ code: Errors.NOT_MEMBER.code, name: 'not_member', message: 'nope', retry: false });
  });
  it('maps a body-less 5xx to UNAVAILABLE', () => {
    expect(chatErrorFromBody(502, undefined).def).toBe(Errors.UNAVAILABLE);
  });
});
