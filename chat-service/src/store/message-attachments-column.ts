import { parseMessageAttachments, type MessageAttachment } from '@chat/protocol';

/** The `messages.attachments` column: JSON of the checked metadata, null for none. */
export function encodeAttachments(attachments: readonly MessageAttachment[] | undefined): string | null {
  return attachments && attachments.length > 0 ? JSON.stringify(attachments) : null;
}

/** `{ attachments }` for a stored column value, `{}` for none. */
export function attachmentsOf(column: unknown): { attachments?: MessageAttachment[] } {
  if (typeof column !== 'string') return {};
  return { attachments: parseMessageAttachments(JSON.parse(column) as unknown) };
}
