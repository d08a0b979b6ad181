/**
 * Attachments over the public REST API (chat-service, `/v1`). Bytes never pass through
 * chat-service or a gateway: clients upload and download through short-lived pre-signed URLs of
 * the object store. docs/PROTOCOL.md ("Attachments") is the user-facing form of this file.
 */

/** An attachment as REST replies show it. */
export interface Attachment {
  attachment_id: string;
  conversation_id: string;
  content_type: string;
  size: number;
  filename?: string;
  /** pending: upload not completed yet; uploaded: verified, may be sent and downloaded. */
  state: 'pending' | 'uploaded';
}

/** Body of `POST /v1/conversations/:id/attachments`. */
export interface UploadRequest {
  /** Lower-case `type/subtype` from the server's allowlist (ATTACHMENT_CONTENT_TYPES). */
  content_type: string;
  /** Exact size in bytes (at most ATTACHMENT_MAX_BYTES). */
  size: number;
  /** Display name only (≤ 255 characters, no control characters, `/` or `\`). */
  filename?: string;
}

/** A pre-signed request the client performs itself against the object store. */
export interface PresignedUpload {
  method: 'PUT';
  url: string;
  /** Send exactly these headers: they are covered by the signature. */
  headers: Record<string, string>;
  /** Epoch ms after which the store refuses the URL. */
  expires_at: number;
}

/** Reply to `POST /v1/conversations/:id/attachments` (201). */
export interface UploadGrant {
  attachment: Attachment;
  upload: PresignedUpload;
}

/** Reply to `POST /v1/attachments/:id/complete`. */
export interface CompletedUpload {
  attachment: Attachment;
}

/** Reply to `GET /v1/attachments/:id/download`: a pre-signed GET. */
export interface DownloadGrant {
  attachment: Attachment;
  url: string;
  expires_at: number;
}

/** REST paths (ids are canonical decimal strings). */
export const ATTACHMENT_PATHS = {
  requestUpload: (conversationId: string) => `/v1/conversations/${encodeURIComponent(conversationId)}/attachments`,
  complete: (attachmentId: string) => `/v1/attachments/${encodeURIComponent(attachmentId)}/complete`,
  download: (attachmentId: string) => `/v1/attachments/${encodeURIComponent(attachmentId)}/download`,
} as const;
