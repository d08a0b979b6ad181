import { describe, expect, it } from 'vitest';
import { newSocketData, type GatewaySocket } from '../transport/socket-data.js';
import { LocalSessions } from './local-sessions.js';

const socket = (userId: string, connectionId: string): GatewaySocket => {
  const data = newSocketData(userId, connectionId, 0);
  return { getUserData: () => data } as unknown as GatewaySocket;
};

describe('LocalSessions', () => {
  it('tracks one user through one, two and back to no sockets', () => {
    const sessions = new LocalSessions();
    const a1 = socket('alice', 'c1');
    const a2 = socket('alice', 'c2');
    const b1 = socket('bob', 'c3');
    sessions.add(a1);
    sessions.add(b1);
    expect(sessions.socketsOf('alice')).toEqual([a1]);
    expect(sessions.socketCount('alice')).toBe(1);
    sessions.add(a2);
    sessions.add(a2); // adding twice changes nothing
    expect(sessions.socketsOf('alice')).toEqual([a1, a2]);
    expect(sessions.socketCount('alice')).toBe(2);
    expect(sessions.size).toBe(3);
    sessions.remove(a1);
    expect(sessions.socketsOf('alice')).toEqual([a2]);
    expect(sessions.connection('c1')).toBeUndefined();
    expect(sessions.connection('c2')).toBe(a2);
    sessions.remove(a2);
    expect(sessions.socketsOf('alice')).toEqual([]);
    expect(sessions.socketCount('alice')).toBe(0);
    expect([...sessions.userIds()]).toEqual(['bob']);
    expect([...sessions.connections()]).toEqual([['bob', 'c3']]);
  });

  it('removing a socket that is not there leaves the user’s other sockets alone', () => {
    const sessions = new LocalSessions();
    const a1 = socket('alice', 'c1');
    sessions.add(a1);
    sessions.remove(socket('alice', 'c9'));
    expect(sessions.socketsOf('alice')).toEqual([a1]);
    expect(sessions.size).toBe(1);
  });

  it('the socket array handed out is a copy: changing it does not change the sessions', () => {
    const sessions = new LocalSessions();
    sessions.add(socket('alice', 'c1'));
    sessions.add(socket('alice', 'c2'));
    sessions.socketsOf('alice').pop();
    expect(sessions.socketCount('alice')).toBe(2);
  });
});
