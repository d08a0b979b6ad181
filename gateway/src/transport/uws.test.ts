import { describe, expect, it } from 'vitest';
import { uwsFallbackProblem } from './uws.js';

describe('uwsFallbackProblem', () => {
  it('accepts the native binary', () => {
    expect(uwsFallbackProblem({})).toBeUndefined();
  });
  it('refuses when UWS_USE_FALLBACK is set, whatever its value', () => {
    expect(uwsFallbackProblem({ UWS_USE_FALLBACK: '0' })).toMatch(/UWS_USE_FALLBACK/);
  });
});
