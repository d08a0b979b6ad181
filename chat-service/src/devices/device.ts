import { createHash } from 'node:crypto';

export const PLATFORMS = ['android', 'ios', 'web'] as const;
export type Platform = (typeof PLATFORMS)[number];

/** FCM registration tokens (and APNs hex tokens): URL-safe characters, bounded. */
export const DEVICE_TOKEN_PATTERN = /^[A-Za-z0-9_:.-]{16,4096}$/;
/** A device id: 32 lower-case hex digits. */
export const DEVICE_ID_PATTERN = /^[0-9a-f]{32}$/;
/** Devices kept per user; registering one more drops the least recently refreshed. */
export const MAX_DEVICES_PER_USER = 20;

export interface DeviceRecord {
  user_id: string;
  device_id: string;
  token: string;
  platform: Platform;
  updated_at: number;
}

/** What clients see of a device: never the token. */
export interface DeviceView {
  device_id: string;
  platform: Platform;
  updated_at: number;
}

/** The id of a token: the first 128 bits of its SHA-256, so the same token always names the same device. */
export function deviceIdOf(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex').slice(0, 32);
}

export function viewOf(d: DeviceRecord): DeviceView {
  return { device_id: d.device_id, platform: d.platform, updated_at: d.updated_at };
}
