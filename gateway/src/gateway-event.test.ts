import { describe, expect, it } from 'vitest';
import { GatewayEventError, parseGatewayEvent } from './gateway-event.js';

describe('parseGatewayEvent', () => {
  it('accepts deliver and disconnect events', () => {
    expect(parseGatewayEvent('{"v":1,"type":"deliver","user_ids":["a"],"frame":"{}"}')).toEqual({ v: 1, type: 'deliver', user_ids: ['a'], frame: '{}' });
    expect(parseGatewayEvent('{"v":1,"type":"disconnect","connection_ids":["c"],"code":4402,"reason":"x"}')).toMatchObject({ code: 4402 });
  });
  it('rejects anything else', () => {
    for (const bad of ['nope', '[]', '{"v":2,"type":"deliver","user_ids":[],"frame":"x"}', '{"v":1,"type":"deliver","user_ids":[1],"frame":"x"}', '{"v":1,"type":"x"}']) {
      expect(() => parseGatewayEvent(bad)).toThrow(GatewayEventError);
    }
  });
});
