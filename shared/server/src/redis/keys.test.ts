import { describe, expect, it } from 'vitest';
import { RedisKeys } from './keys.js';

describe('RedisKeys', () => {
  const keys = new RedisKeys('chat:');

  it('builds the names running deployments already use (a rename would strand live keys)', () => {
    expect(keys.userConnections('u1')).toBe('chat:user:{u1}:conns');
    expect(keys.gatewayAlive('gw-1')).toBe('chat:gw:gw-1:alive');
    expect(keys.gatewayEvents('gw-1')).toBe('chat:gw:gw-1:events');
    expect(keys.presenceOnline()).toBe('chat:presence:online');
    expect(keys.presenceDevices('u1')).toBe('chat:presence:dev:{u1}');
    expect(keys.presenceSeen('u1')).toBe('chat:presence:seen:{u1}');
    expect(keys.presenceEvents('u1')).toBe('chat:presence:u:u1');
    expect(keys.presenceState('u1')).toBe('chat:presence:state:{u1}');
    expect(keys.idempotencyRecord('u1', 'c1')).toBe('chat:idem:{u1}:c1');
    expect(keys.idempotencyMarker('u1')).toBe('chat:idem:{u1}');
    expect(keys.membersChanged()).toBe('chat:members-changed');
    expect(keys.routesChanged()).toBe('chat:routes-changed');
    expect(keys.latestSeq('42', '7')).toBe('chat:conv:{42}:latest:7');
    expect(keys.membersVersion('42')).toBe('chat:conv:{42}:members-v');
    expect(keys.rateLimit('sends')).toBe('chat:rl:sends');
    expect(keys.workerIdCounter()).toBe('chat:worker-id:next');
    expect(keys.workerIdClaim(7)).toBe('chat:worker-id:7');
    expect(keys.notifyWindow('u1', '42')).toBe('chat:notify:w:{u1}:42');
    expect(keys.notifyDue()).toBe('chat:notify:due');
    expect(keys.notifyRetry()).toBe('chat:notify:retry');
  });

  it('takes the prefix from its caller only', () => {
    expect(new RedisKeys('t9:').userConnections('u')).toBe('t9:user:{u}:conns');
  });

  it('splits a per-user name around the user id for Lua scripts', () => {
    for (const name of [keys.presenceDevices, keys.presenceSeen, keys.presenceEvents, keys.presenceState]) {
      const [head, tail] = keys.aroundUser(name);
      expect(head + 'someone' + tail).toBe(name.call(keys, 'someone'));
    }
  });
});
