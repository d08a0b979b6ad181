import { describe, expect, it } from 'vitest';
import { GatewayEventError, parseGatewayEvent } from './gateway-event.js';

describe('parseGatewayEvent', () => {
  it('accepts deliver events', () => {
    expect(parseGatewayEvent('{"v":1,"type":"deliver","user_ids":["a"],"frame":"{}"}')).toEqual({ v: 1, type: 'deliver', user_ids: ['a'], frame: '{}' });
  });
  it('rejects anything else', () => {
    for (const bad of [
      'nope',
      '[]',
      '{"v":2,"type":"deliver","user_ids":[],"frame":"x"}',
      '{"v":1,"type":"deliver","user_ids":[1],"frame":"x"}',
      '{"v":1,"type":"x"}',
      '{"v":1,"type":"disconnect","connection_ids":["c"],"code":4401,"reason":"x"}',
    ]) {
      expect(() => parseGatewayEvent(bad)).toThrow(GatewayEventError);
    }
  });
});
