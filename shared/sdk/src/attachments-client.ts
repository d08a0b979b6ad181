import { ATTACHMENT_PATHS, type Attachment, type CompletedUpload, type DownloadGrant, type UploadGrant, type UploadRequest } from '@chat/protocol';
import { AttachmentTransferError } from './errors.js';
import { RestCaller, type RestOptions } from './rest-caller.js';

export type AttachmentsClientOptions = RestOptions;

/** What can be uploaded: a Blob/File (browsers, Node ≥ 18) or bytes. */
export type AttachmentData = Blob | ArrayBuffer | Uint8Array;

export interface UploadOptions {
  /** Lower-case `type/subtype` from the server's allowlist, e.g. `image/png`. */
  contentType: string;
  /** Display name shown to members. */
  filename?: string;
}

function sizeOf(data: AttachmentData): number {
  return data instanceof ArrayBuffer || ArrayBuffer.isView(data) ? data.byteLength : data.size;
}

/**
 * Attachments over the REST API: `upload` asks chat-service for a pre-signed upload, PUTs the bytes
 * straight to the object store and completes the upload; send the returned id with
 * `ChatClient.send(conversationId, body, { attachmentIds: [attachment.attachment_id] })`. Messages
 * carry attachment metadata only: `downloadUrl` gets a short-lived URL when the bytes are needed.
 * REST errors reject with ChatRequestError (registry codes), refusals of the store with
 * AttachmentTransferError.
 */
export class AttachmentsClient {
  private readonly restCaller: RestCaller;

  constructor(options: AttachmentsClientOptions) {
    this.restCaller = new RestCaller(options, 'AttachmentsClient');
  }

  private get fetchImpl(): typeof fetch {
    return this.restCaller.fetchImpl;
  }

  /** Uploads `data` to `conversationId` and completes it: the attachment is ready to send. */
  async upload(conversationId: string, data: AttachmentData, options: UploadOptions): Promise<Attachment> {
    const grant = await this.requestUpload(conversationId, {
      content_type: options.contentType,
      size: sizeOf(data),
      ...(options.filename !== undefined ? { filename: options.filename } : {}),
    });
    const put = await this.fetchImpl(grant.upload.url, { method: grant.upload.method, headers: grant.upload.headers, body: data as RequestInit['body'] });
    await put.arrayBuffer().catch(() => undefined);
    if (!put.ok) throw new AttachmentTransferError(put.status, `upload refused by the object store (HTTP ${put.status})`);
    return this.complete(grant.attachment.attachment_id);
  }

  /** Step 1 of `upload`: a pending attachment and its pre-signed PUT. */
  requestUpload(conversationId: string, request: UploadRequest): Promise<UploadGrant> {
    return this.rest<UploadGrant>('POST', ATTACHMENT_PATHS.requestUpload(conversationId), request);
  }

  /** Step 3 of `upload`: chat-service checks the stored object; then the attachment can be sent. */
  async complete(attachmentId: string): Promise<Attachment> {
    return (await this.rest<CompletedUpload>('POST', ATTACHMENT_PATHS.complete(attachmentId))).attachment;
  }

  /** A short-lived download URL (members of the attachment's conversation only). */
  downloadUrl(attachmentId: string): Promise<DownloadGrant> {
    return this.rest<DownloadGrant>('GET', ATTACHMENT_PATHS.download(attachmentId));
  }

  /** The attachment's bytes, through a fresh download URL. */
  async download(attachmentId: string): Promise<Uint8Array> {
    const grant = await this.downloadUrl(attachmentId);
    const res = await this.fetchImpl(grant.url);
    if (!res.ok) {
      await res.arrayBuffer().catch(() => undefined);
      throw new AttachmentTransferError(res.status, `download refused by the object store (HTTP ${res.status})`);
    }
    return new Uint8Array(await res.arrayBuffer());
  }

  private rest<T>(method: string, path: string, body?: unknown): Promise<T> {
    return this.restCaller.call<T>(method, path, body);
  }
}
