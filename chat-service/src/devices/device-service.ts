import { ChatError, Errors } from '@chat/protocol';
import { deviceIdOf, MAX_DEVICES_PER_USER, viewOf, type DeviceView, type Platform } from './device.js';
import type { DeviceStore } from './device-store.js';

export interface Registration {
  token: string;
  platform: Platform;
  /** A device this registration replaces (the app's token was rotated): removed from the caller. */
  replaces?: string;
}

/** Registering, refreshing and deleting a user's push devices. */
export class DeviceService {
  constructor(
    private readonly store: DeviceStore,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Registers (or refreshes) `token` for `userId`. A token another user holds moves to the caller:
   * the phone changed hands, and the previous owner must stop getting its pushes.
   */
  async register(userId: string, r: Registration): Promise<DeviceView> {
    const device = { user_id: userId, device_id: deviceIdOf(r.token), token: r.token, platform: r.platform, updated_at: this.now() };
    const previousOwner = await this.store.ownerOf(device.device_id);
    await this.store.put(device);
    if (previousOwner !== null && previousOwner !== userId) await this.store.removeFromUser(previousOwner, device.device_id);
    if (r.replaces !== undefined && r.replaces !== device.device_id) await this.store.removeFromUser(userId, r.replaces);
    await this.dropBeyondCap(userId);
    return viewOf(device);
  }

  async list(userId: string): Promise<DeviceView[]> {
    const devices = await this.store.listByUser(userId);
    return devices.sort((a, b) => b.updated_at - a.updated_at).map(viewOf);
  }

  /** Removes one of the caller's devices; 4004 when the caller has no such device. */
  async remove(userId: string, deviceId: string): Promise<void> {
    const devices = await this.store.listByUser(userId);
    if (!devices.some((d) => d.device_id === deviceId)) throw new ChatError(Errors.NOT_FOUND, 'no such device');
    await this.store.removeFromUser(userId, deviceId);
  }

  private async dropBeyondCap(userId: string): Promise<void> {
    const devices = await this.store.listByUser(userId);
    if (devices.length <= MAX_DEVICES_PER_USER) return;
    const stale = devices.sort((a, b) => b.updated_at - a.updated_at).slice(MAX_DEVICES_PER_USER);
    for (const d of stale) await this.store.removeFromUser(userId, d.device_id);
  }
}
