import { CLIENT_MSG_ID_PATTERN } from '@chat/protocol';

/** True when `id` is a valid client_msg_id (/^[A-Za-z0-9._:-]{1,64}$/). */
export function isValidClientMsgId(id: string): boolean {
  return CLIENT_MSG_ID_PATTERN.test(id);
}

let counter = 0;

/** A fresh client_msg_id: a dashless random UUID where available, else time + counter + random. */
export function generateClientMsgId(): string {
  const c = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto;
  if (c && typeof c.randomUUID === 'function') return c.randomUUID().replace(/-/g, '');
  counter = (counter + 1) % 0x100000;
  const rand = Math.floor(Math.random() * 0x100000000).toString(36);
  return `${Date.now().toString(36)}.${counter.toString(36)}.${rand}`;
}
