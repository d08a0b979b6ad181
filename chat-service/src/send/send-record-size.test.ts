import type { MessageAttachment } from '@chat/protocol';
import type { InternalSendRequest } from '@chat/protocol/internal';
import { loadConfig } from '@chat/server/config';
import type { SnowflakeIds } from '@chat/server/ids';
import type { Message } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import type { AttachmentService } from '../attachments/attachment-service.js';
import type { MembershipCache } from '../store/membership-cache.js';
import { MAX_REQUEST_RECORD_BYTES, sizeOf, type BatchingProducer } from './batching-producer.js';
import type { IdempotencyStore } from './idempotency-store.js';
import { SendService } from './send-service.js';

/** The record the send path produces for `req`, through SendService with everything else stubbed. */
async function producedRecord(req: InternalSendRequest, attachments: MessageAttachment[]): Promise<Message> {
  let produced: Message | undefined;
  const sends = new SendService(
    { isMember: async () => true } as unknown as MembershipCache,
    { reserve: async (_u: string, _c: string, record: unknown) => ({ created: true, record, marker: null }) } as unknown as IdempotencyStore,
    { send: async (_topic: string, m: Message) => void (produced = m) } as unknown as BatchingProducer,
    { next: () => '9223372036854775807' } as unknown as SnowflakeIds,
    'chat.messages',
    null,
    null,
    { forMessage: async () => attachments } as unknown as AttachmentService,
  );
  await sends.send(req, Date.now() + 5000);
  return produced!;
}

describe('message record size', () => {
  it('item 14: the largest send the configuration allows fits one produce request, whatever its body escapes to', async () => {
    const maxBody = 128 * 1024;
    expect(() => loadConfig({ MAX_BODY_BYTES: String(maxBody + 1) })).toThrow(/MAX_BODY_BYTES/);
    expect(loadConfig({ MAX_BODY_BYTES: String(maxBody) }).MAX_BODY_BYTES).toBe(maxBody);
    // A control character is 1 UTF-8 byte and 6 bytes in JSON (\u0001): the longest escaping there is.
    const attachments = Array.from({ length: 10 }, (_, i) => ({
      attachment_id: String(2 ** 62 + i),
      content_type: 'x'.repeat(255),
      size: 2 ** 40,
      filename: '\u0001'.repeat(255),
    }));
    const record = await producedRecord(
      {
        user_id: 'u'.repeat(128),
        conversation_id: '9223372036854775807',
        client_msg_id: 'c'.repeat(64),
        body: '\u0001'.repeat(maxBody),
        attachment_ids: attachments.map((a) => a.attachment_id),
      },
      attachments,
    );
    expect(sizeOf(record)).toBeGreaterThan(6 * maxBody);
    expect(sizeOf(record)).toBeLessThanOrEqual(MAX_REQUEST_RECORD_BYTES);
  });
});
