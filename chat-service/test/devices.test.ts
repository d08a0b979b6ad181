import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deviceIdOf, MAX_DEVICES_PER_USER } from '../src/devices/device.js';
import { startSystem, type TestSystem } from './support/system.js';

// Push device tokens through the public REST API, stored in the shared Cassandra.
let sys: TestSystem;
const uid = (name: string) => `${name}-${randomBytes(3).toString('hex')}`;
const fcmToken = () => `fcm_${randomBytes(60).toString('base64url')}:APA91b${randomBytes(20).toString('hex')}`;

interface Device {
  device_id: string;
  platform: string;
  updated_at: number;
}

beforeAll(async () => {
  sys = await startSystem(0);
}, 180_000);

afterAll(async () => {
  await sys?.close();
});

const register = (user: string, body: unknown) => sys.rest<{ device: Device; error?: { code: number } }>(user, 'POST', '/v1/devices', body);
const list = async (user: string) => (await sys.rest<{ devices: Device[] }>(user, 'GET', '/v1/devices')).body.devices;
async function storedTokens(user: string): Promise<string[]> {
  const rs = await sys.cassandra.execute('SELECT push_token FROM device_tokens WHERE user_id = ?', [user], { prepare: true });
  return rs.rows.map((r) => r.get('push_token') as string).sort();
}

describe('device tokens', () => {
  it('a user registers several devices on each platform; the token itself is never echoed', async () => {
    const alice = uid('alice');
    const tokens = [fcmToken(), fcmToken(), fcmToken()];
    const platforms = ['android', 'ios', 'web'];
    for (const [i, token] of tokens.entries()) {
      const res = await register(alice, { token, platform: platforms[i] });
      expect(res.status).toBe(200);
      expect(res.body.device).toMatchObject({ device_id: deviceIdOf(token), platform: platforms[i] });
      expect(JSON.stringify(res.body)).not.toContain(token);
    }
    const devices = await list(alice);
    expect(devices.map((d) => d.platform).sort()).toEqual(['android', 'ios', 'web']);
    expect(await storedTokens(alice)).toEqual([...tokens].sort());
  });

  it('registering the same token again refreshes it instead of adding a device', async () => {
    const bob = uid('bob');
    const token = fcmToken();
    const first = (await register(bob, { token, platform: 'android' })).body.device;
    await new Promise((r) => setTimeout(r, 5)); // a later timestamp than the first registration
    const again = (await register(bob, { token, platform: 'android' })).body.device;
    expect(again.device_id).toBe(first.device_id);
    expect(again.updated_at).toBeGreaterThan(first.updated_at);
    expect(await list(bob)).toHaveLength(1);
  });

  it('a rotated token replaces the old device', async () => {
    const carol = uid('carol');
    const [oldToken, newToken] = [fcmToken(), fcmToken()];
    const old = (await register(carol, { token: oldToken, platform: 'ios' })).body.device;
    const res = await register(carol, { token: newToken, platform: 'ios', replaces: old.device_id });
    expect(res.status).toBe(200);
    expect(await storedTokens(carol)).toEqual([newToken]);
  });

  it('a token registered by another user moves to that user', async () => {
    const [dave, erin] = [uid('dave'), uid('erin')];
    const shared = fcmToken();
    const kept = fcmToken();
    await register(dave, { token: shared, platform: 'android' });
    await register(dave, { token: kept, platform: 'web' });
    await register(erin, { token: shared, platform: 'android' });
    expect(await storedTokens(dave)).toEqual([kept]);
    expect(await storedTokens(erin)).toEqual([shared]);
    const owner = await sys.cassandra.execute('SELECT user_id FROM device_token_owners WHERE device_id = ?', [deviceIdOf(shared)], { prepare: true });
    expect(owner.first()?.get('user_id')).toBe(erin);
  });

  it('a user deletes their own device; another user cannot', async () => {
    const [frank, grace] = [uid('frank'), uid('grace')];
    const device = (await register(frank, { token: fcmToken(), platform: 'web' })).body.device;
    const foreign = await sys.rest<{ error: { code: number } }>(grace, 'DELETE', `/v1/devices/${device.device_id}`);
    expect(foreign.status).toBe(404);
    expect(await list(frank)).toHaveLength(1);
    const own = await sys.rest<{ ok: boolean }>(frank, 'DELETE', `/v1/devices/${device.device_id}`);
    expect(own).toEqual({ status: 200, body: { ok: true } });
    expect(await list(frank)).toHaveLength(0);
    const owner = await sys.cassandra.execute('SELECT user_id FROM device_token_owners WHERE device_id = ?', [device.device_id], { prepare: true });
    expect(owner.rowLength).toBe(0);
  });

  it(`keeps at most ${MAX_DEVICES_PER_USER} devices, dropping the least recently refreshed`, async () => {
    const heidi = uid('heidi');
    const tokens: string[] = [];
    for (let i = 0; i <= MAX_DEVICES_PER_USER; i++) {
      tokens.push(fcmToken());
      expect((await register(heidi, { token: tokens[i], platform: 'android' })).status).toBe(200);
      await new Promise((r) => setTimeout(r, 2)); // distinct timestamps
    }
    const stored = await storedTokens(heidi);
    expect(stored).toHaveLength(MAX_DEVICES_PER_USER);
    expect(stored).not.toContain(tokens[0]);
  });

  it.each([
    [{ platform: 'android' }, 'token'],
    [{ token: 'short', platform: 'android' }, 'token'],
    [{ token: 'has spaces in it, not a token at all', platform: 'android' }, 'token'],
    [{ token: 'x'.repeat(4097), platform: 'android' }, 'token'],
    [{ token: 'a'.repeat(40), platform: 'blackberry' }, 'platform'],
    [{ token: 'a'.repeat(40), platform: 'ios', replaces: 'not-a-device-id' }, 'replaces'],
  ])('refuses an invalid registration %#', async (body, field) => {
    const res = await sys.rest<{ error: { code: number; message: string } }>(uid('ivan'), 'POST', '/v1/devices', body);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe(4002);
    expect(res.body.error.message).toContain(field);
  });

  it('a malformed device id names no device', async () => {
    const res = await sys.rest<{ error: { code: number } }>(uid('judy'), 'DELETE', '/v1/devices/XYZ');
    expect(res.status).toBe(404);
  });

  it('requires a token', async () => {
    const res = await fetch(`${sys.chatUrl}/v1/devices`);
    expect(res.status).toBe(401);
  });
});
