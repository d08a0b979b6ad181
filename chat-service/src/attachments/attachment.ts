import type { Attachment } from '@chat/protocol';

/** An attachment as chat-service keeps it; the object's bytes live in the bucket under `object_key`. */
export interface AttachmentRecord {
  attachment_id: string;
  conversation_id: string;
  /** The user who requested the upload: the only one who may complete it or send it. */
  owner_id: string;
  /** Chosen by the server, never by the client. */
  object_key: string;
  content_type: string;
  size: number;
  filename: string | null;
  /** pending: upload URL issued, not yet verified; uploaded: verified by HEAD, usable in messages. */
  state: 'pending' | 'uploaded';
  created_at: number;
  uploaded_at: number | null;
}

/** What clients see of an attachment in REST replies (the wire contract's Attachment). */
export type AttachmentView = Attachment;

export function viewOf(a: AttachmentRecord): AttachmentView {
  return {
    attachment_id: a.attachment_id,
    conversation_id: a.conversation_id,
    content_type: a.content_type,
    size: a.size,
    ...(a.filename !== null ? { filename: a.filename } : {}),
    state: a.state,
  };
}

/** The bucket key of an attachment: derived from ids only, so no client text reaches a key. */
export function objectKeyOf(conversationId: string, attachmentId: string): string {
  return `attachments/${conversationId}/${attachmentId}`;
}

/** What the server accepts (ATTACHMENT_* configuration). */
export interface AttachmentPolicy {
  maxBytes: number;
  contentTypes: ReadonlySet<string>;
  uploadUrlTtlSeconds: number;
  downloadUrlTtlSeconds: number;
  /** A pending attachment older than this is deleted with its object. */
  abandonAfterMs: number;
}
