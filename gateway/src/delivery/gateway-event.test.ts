import { describe, expect, it } from 'vitest';
import { GatewayEventError, parseGatewayEvent } from './gateway-event.js';

describe('parseGatewayEvent', () => {
  it('accepts deliver events with their deliveries in order, one frame or several', () => {
    const event = {
      v: 1,
      type: 'deliver',
      deliveries: [
        { user_ids: ['a'], frame: '{"n":1}', conversation_id: '7', sequenced_at_ms: 5 },
        { user_ids: ['a', 'b'], frame: '{"n":2}' },
        { user_ids: ['b'], frames: ['{"n":3}', '{"n":4}'], conversation_id: '8' },
      ],
    };
    expect(parseGatewayEvent(JSON.stringify(event))).toEqual([
      { userIds: ['a'], frames: ['{"n":1}'], conversationId: '7', sequencedAtMs: 5 },
      { userIds: ['a', 'b'], frames: ['{"n":2}'] },
      { userIds: ['b'], frames: ['{"n":3}', '{"n":4}'], conversationId: '8' },
    ]);
  });
  it('accepts the single-delivery form of earlier versions', () => {
    expect(parseGatewayEvent('{"v":1,"type":"deliver","user_ids":["a"],"frame":"{}","conversation_id":"7"}')).toEqual([
      { userIds: ['a'], frames: ['{}'], conversationId: '7' },
    ]);
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
      '{"v":1,"type":"deliver","deliveries":[{"user_ids":["a"],"frames":[]}]}',
      '{"v":1,"type":"deliver","deliveries":[{"user_ids":["a"],"frames":["x",""]}]}',
      '{"v":1,"type":"deliver","deliveries":[{"user_ids":["a"],"frames":["x",2]}]}',
      '{"v":1,"type":"deliver","deliveries":[{"user_ids":["a"],"frames":"x"}]}',
      '{"v":1,"type":"deliver","deliveries":[{"user_ids":["a"],"frame":"x","frames":["y"]}]}',
      '{"v":1,"type":"disconnect","connection_ids":["c"],"code":4401,"reason":"x"}',
    ]) {
      expect(() => parseGatewayEvent(bad), bad).toThrow(GatewayEventError);
    }
  });
});
