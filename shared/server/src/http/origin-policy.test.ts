import { describe, expect, it } from 'vitest';
import { isOriginAllowed } from './origin-policy.js';

describe('isOriginAllowed', () => {
  it('allows requests without Origin (native clients)', () => {
    expect(isOriginAllowed('', ['https://chat.example'])).toBe(true);
  });
  it('allows any origin with *', () => {
    expect(isOriginAllowed('https://evil.example', ['*'])).toBe(true);
  });
  it('allows listed origins, ignoring case and a trailing slash', () => {
    expect(isOriginAllowed('https://Chat.Example', ['https://chat.example/'])).toBe(true);
  });
  it('refuses unlisted origins', () => {
    expect(isOriginAllowed('https://evil.example', ['https://chat.example'])).toBe(false);
    expect(isOriginAllowed('https://chat.example.evil.example', ['https://chat.example'])).toBe(false);
    expect(isOriginAllowed('null', ['https://chat.example'])).toBe(false);
  });
});
