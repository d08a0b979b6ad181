import type { Message, Messaging } from 'firebase-admin/messaging';

/** sendEach takes at most 500 messages per call. */
export const MAX_PER_CALL = 500;

export interface SendResult {
  ok: boolean;
  /** firebase-admin's error code when not ok (undefined: FCM was not reached or answered oddly). */
  code?: string;
}

/** Sends any number of messages through `sendEach`, 500 per call; one result per message, in order. */
export async function sendAll(messaging: Messaging, messages: readonly Message[]): Promise<SendResult[]> {
  const out: SendResult[] = [];
  for (let i = 0; i < messages.length; i += MAX_PER_CALL) {
    const chunk = messages.slice(i, i + MAX_PER_CALL);
    try {
      const batch = await messaging.sendEach(chunk);
      for (const r of batch.responses) out.push(r.success ? { ok: true } : { ok: false, ...(r.error?.code ? { code: r.error.code } : {}) });
    } catch (err) {
      // The whole call failed (e.g. the access token could not be fetched): every message retries.
      const code = (err as { code?: unknown }).code;
      for (let j = 0; j < chunk.length; j++) out.push({ ok: false, ...(typeof code === 'string' ? { code } : {}) });
    }
  }
  return out;
}
