import type { TokenMessage } from 'firebase-admin/messaging';
import type { PushDevice } from './recipients/devices.js';
import type { WindowSnapshot } from './state/window-store.js';

export interface PushFacts {
  window: WindowSnapshot;
  title: string | null;
  /** The user's unread total, or the window's own count when it is not known. */
  badge: number;
}

const MAX_PREVIEW = 200;

/**
 * One push for a collapse window. It names the conversation and counts messages; message text
 * appears only when previews are on (the window then carries the last message's "sender: text").
 * The collapse key (Android), collapse id and thread id (APNs) and Topic (web push) are the
 * conversation, so a newer push replaces an older one for the same conversation on the device.
 */
export function pushFor(device: PushDevice, f: PushFacts): TokenMessage {
  const { window: w } = f;
  const counted = w.count === 1 ? '1 new message' : `${w.count} new messages`;
  const title = f.title ?? 'New messages';
  const body = w.preview !== '' ? w.preview.slice(0, MAX_PREVIEW) : `${counted}${f.title ? ` in ${f.title}` : ''}`;
  return {
    token: device.token,
    data: {
      type: 'chat.new_messages',
      conversation_id: w.conversationId,
      count: String(w.count),
      last_seq: String(w.lastSeq),
      badge: String(f.badge),
    },
    notification: { title, body },
    android: { collapseKey: w.conversationId, notification: { tag: w.conversationId, notificationCount: f.badge } },
    apns: { headers: { 'apns-collapse-id': w.conversationId }, payload: { aps: { badge: f.badge, threadId: w.conversationId } } },
    webpush: { headers: { Topic: w.conversationId } },
  };
}
