import { describe, expect, it } from 'vitest';
import { GatewayEventError, parseGatewayEvent } from './gateway-event.js';

describe('parseGatewayEvent', () => {
  it('accepts deliver events with their deliveries in order', () => {
    const event = {
      v: 1,
      type: 'deliver',
      deliveries: [
        { user_ids: ['a'], frame: '{"n":1}', conversation_id: '7', sequenced_at_ms: 5 },
        { user_ids: ['a', 'b'], frame: '{"n":2}' },
      ],
    };
    expect(parseGatewayEvent(JSON.stringify(event))).toEqual(event);
  });
  it('accepts the single-delivery form of earlier versions', () => {
    expect(parseGatewayEvent('{"v":1,"type":"deliver","user_ids":["a"],"frame":"{}","conversation_id":"7"}')).toEqual({
      v: 1,
      type: 'deliver',
      deliveries: [{ user_ids: ['a'], frame: '{}', conversation_id: '7' }],
    });
  });
  it('rejects anything else', () => {
    for (const bad of [
      'nope',
      '[]',
      '{"v":2,"type":"deliver","user_ids":[],"frame":"x"}',
      '{"v":1,"type":"deliver","user_ids":[1],"frame":"x"}',
      '{"v":1,"type":"x"}',
      '{"v":1,"type":"deliver","deliveries":{}}',
      '{"v":1,"type":"deliver","deliveries":[{"user_ids":["a"],"frame":""}]}',
      '{"v":1,"type":"deliver","deliveries":[{"user_ids":["a"],"frame":"x"},"y"]}',
      '{"v":1,"type":"disconnect","connection_ids":["c"],"code":4401,"reason":"x"}',
    ]) {
      expect(() => parseGatewayEvent(bad)).toThrow(GatewayEventError);
    }
  });
});
