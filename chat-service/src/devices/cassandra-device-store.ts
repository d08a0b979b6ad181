import type cassandra from 'cassandra-driver';
import type { CassandraClient } from '@chat/server/clients';
import type { DeviceRecord, Platform } from './device.js';
import type { DeviceStore } from './device-store.js';

const IDEMPOTENT = { prepare: true, isIdempotent: true } as const;
/** Compare-and-set (Paxos): never retried blindly by the driver. */
const CAS = { prepare: true, isIdempotent: false } as const;

function rowToDevice(row: cassandra.types.Row): DeviceRecord {
  return {
    user_id: row.get('user_id') as string,
    device_id: row.get('device_id') as string,
    token: row.get('push_token') as string,
    platform: row.get('platform') as Platform,
    updated_at: (row.get('updated_at') as Date).getTime(),
  };
}

/** DeviceStore on `device_tokens` and `device_token_owners` (deploy/cassandra/006_device_tokens.cql). */
export class CassandraDeviceStore implements DeviceStore {
  constructor(private readonly db: CassandraClient) {}

  async ownerOf(deviceId: string): Promise<string | null> {
    const row = (await this.db.execute('SELECT user_id FROM device_token_owners WHERE device_id = ?', [deviceId], IDEMPOTENT)).first();
    return (row?.get('user_id') as string | null | undefined) ?? null;
  }

  async put(d: DeviceRecord): Promise<void> {
    const at = new Date(d.updated_at);
    await this.db.execute('INSERT INTO device_token_owners (device_id, user_id, updated_at) VALUES (?, ?, ?)', [d.device_id, d.user_id, at], IDEMPOTENT);
    await this.db.execute(
      'INSERT INTO device_tokens (user_id, device_id, push_token, platform, updated_at) VALUES (?, ?, ?, ?, ?)',
      [d.user_id, d.device_id, d.token, d.platform, at],
      IDEMPOTENT,
    );
  }

  async listByUser(userId: string): Promise<DeviceRecord[]> {
    const rs = await this.db.execute('SELECT user_id, device_id, push_token, platform, updated_at FROM device_tokens WHERE user_id = ?', [userId], IDEMPOTENT);
    return rs.rows.map(rowToDevice);
  }

  async removeFromUser(userId: string, deviceId: string): Promise<void> {
    await this.db.execute('DELETE FROM device_tokens WHERE user_id = ? AND device_id = ?', [userId, deviceId], IDEMPOTENT);
    await this.db.execute('DELETE FROM device_token_owners WHERE device_id = ? IF user_id = ?', [deviceId, userId], CAS);
  }
}
