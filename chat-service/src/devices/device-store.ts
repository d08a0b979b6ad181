import type { DeviceRecord } from './device.js';

/**
 * Durable device tokens: a user's devices, and who owns each device now.
 *
 * Contract: `put` records the owner before the user's row, so a reader that checks ownership never
 * sees a device under a user who does not own it. `removeFromUser` deletes the user's row, and the
 * owner row only if it still names that user (a token that moved on stays with its new owner).
 */
export interface DeviceStore {
  ownerOf(deviceId: string): Promise<string | null>;
  put(d: DeviceRecord): Promise<void>;
  listByUser(userId: string): Promise<DeviceRecord[]>;
  removeFromUser(userId: string, deviceId: string): Promise<void>;
}
