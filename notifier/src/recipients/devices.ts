import type { CassandraClient } from '@chat/server/clients';

const IDEMPOTENT = { prepare: true, isIdempotent: true } as const;
const CAS = { prepare: true, isIdempotent: false } as const;

export interface PushDevice {
  deviceId: string;
  token: string;
  platform: 'android' | 'ios' | 'web';
}

/**
 * A user's push devices from chat-service's `device_tokens` (migration 006). A device is kept only
 * if `device_token_owners` still names the user: a token that moved to another user is never pushed
 * to its previous owner, even while the move is half done.
 */
export class DeviceDirectory {
  constructor(private readonly db: CassandraClient) {}

  async of(userId: string): Promise<PushDevice[]> {
    const rs = await this.db.execute('SELECT device_id, push_token, platform FROM device_tokens WHERE user_id = ?', [userId], IDEMPOTENT);
    if (rs.rowLength === 0) return [];
    const ids = rs.rows.map((r) => r.get('device_id') as string);
    const owners = await this.db.execute('SELECT device_id, user_id FROM device_token_owners WHERE device_id IN ?', [ids], IDEMPOTENT);
    const owned = new Set(owners.rows.filter((r) => r.get('user_id') === userId).map((r) => r.get('device_id') as string));
    return rs.rows
      .filter((r) => owned.has(r.get('device_id') as string))
      .map((r) => ({ deviceId: r.get('device_id') as string, token: r.get('push_token') as string, platform: r.get('platform') as PushDevice['platform'] }));
  }

  /** Deletes a device FCM no longer accepts, unless it has been registered again since (another token row). */
  async prune(userId: string, device: PushDevice): Promise<void> {
    await this.db.execute('DELETE FROM device_tokens WHERE user_id = ? AND device_id = ? IF push_token = ?', [userId, device.deviceId, device.token], CAS);
    await this.db.execute('DELETE FROM device_token_owners WHERE device_id = ? IF user_id = ?', [device.deviceId, userId], CAS);
  }
}
