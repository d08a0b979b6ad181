import { ChatError, Errors, rateLimited, type DownloadGrant, type MessageAttachment, type UploadGrant, type UploadRequest } from '@chat/protocol';
import type { SnowflakeIds } from '@chat/server/ids';
import type { RateLimiter } from '@chat/server/rate-limit';
import { joinedSeqOf, type MembershipCache } from '../store/membership-cache.js';
import type { MessageStore } from '../store/message-store.js';
import { objectKeyOf, viewOf, type AttachmentPolicy, type AttachmentRecord, type AttachmentView } from './attachment.js';
import type { AttachmentStore } from './attachment-store.js';
import type { ObjectStorage } from './object-storage.js';

export type UploadDeclaration = UploadRequest;

/**
 * Attachments of conversations: members upload straight to the bucket through short-lived
 * pre-signed URLs (bytes never pass through chat-service or a gateway), the owner completes the
 * upload once the object is there, and members get short-lived download URLs on demand.
 * Only a completed (verified) attachment can be downloaded or sent in a message.
 */
export class AttachmentService {
  constructor(
    private readonly store: AttachmentStore,
    private readonly objects: ObjectStorage,
    private readonly membership: MembershipCache,
    private readonly ids: SnowflakeIds,
    private readonly policy: AttachmentPolicy,
    private readonly uploads: RateLimiter,
    /** Which messages carry an attachment (the join-point rule of downloads). */
    private readonly messages: Pick<MessageStore, 'lastSeqCarrying'>,
  ) {}

  /** Validates the declaration, records a pending attachment, and signs its upload. */
  async requestUpload(userId: string, conversationId: string, d: UploadDeclaration): Promise<UploadGrant> {
    if (!this.policy.contentTypes.has(d.content_type)) throw new ChatError(Errors.ATTACHMENT_TYPE_NOT_ALLOWED, `content type ${d.content_type} is not allowed`);
    if (d.size > this.policy.maxBytes) throw new ChatError(Errors.ATTACHMENT_TOO_LARGE, `attachments are at most ${this.policy.maxBytes} bytes`);
    if (!(await this.membership.isMember(conversationId, userId))) throw new ChatError(Errors.NOT_MEMBER);
    const wait = await this.uploads.consume(userId);
    if (wait > 0) throw rateLimited(wait, 'too many attachment uploads by this user');
    const attachmentId = this.ids.next();
    const record: AttachmentRecord = {
      attachment_id: attachmentId,
      conversation_id: conversationId,
      owner_id: userId,
      object_key: objectKeyOf(conversationId, attachmentId),
      content_type: d.content_type,
      size: d.size,
      filename: d.filename ?? null,
      state: 'pending',
      created_at: Date.now(),
      uploaded_at: null,
    };
    await this.store.create(record);
    const upload = await this.objects.presignUpload(record.object_key, record.content_type, record.size, this.policy.uploadUrlTtlSeconds);
    return { attachment: viewOf(record), upload };
  }

  /**
   * The owner says the upload is done: the object must be there with the declared size and type.
   * An object that differs is deleted with its record (ATTACHMENT_MISMATCH); completing twice is fine.
   */
  async complete(userId: string, attachmentId: string): Promise<AttachmentView> {
    const a = await this.store.get(attachmentId);
    if (!a || a.owner_id !== userId) throw new ChatError(Errors.ATTACHMENT_NOT_USABLE);
    if (a.state === 'uploaded') return viewOf(a);
    const found = await this.objects.head(a.object_key);
    if (!found) throw new ChatError(Errors.ATTACHMENT_NOT_UPLOADED, 'no object has been uploaded for this attachment yet');
    if (found.size !== a.size || found.contentType !== a.content_type) {
      await this.discard(a);
      throw new ChatError(Errors.ATTACHMENT_MISMATCH);
    }
    const now = Date.now();
    // Lost to the sweeper (abandoned meanwhile): the object is being deleted, the attachment is gone.
    if (!(await this.store.markUploaded(a.attachment_id, now))) {
      const current = await this.store.get(a.attachment_id);
      if (current?.state !== 'uploaded') throw new ChatError(Errors.ATTACHMENT_NOT_USABLE, 'the upload was abandoned and deleted');
      return viewOf(current);
    }
    await this.store.unindex(a.attachment_id, a.created_at);
    return viewOf({ ...a, state: 'uploaded', uploaded_at: now });
  }

  /**
   * A short-lived download URL for a member of the attachment's conversation. A member added later
   * (join point above 0) gets one only for an attachment a message after their join point carries,
   * as history shows them only those messages (else NOT_FOUND, the answer for an unknown id); the
   * uploader always may.
   */
  async download(userId: string, attachmentId: string): Promise<DownloadGrant> {
    const a = await this.store.get(attachmentId);
    if (!a) throw new ChatError(Errors.NOT_FOUND, 'no such attachment');
    const entry = await this.membership.get(a.conversation_id);
    if (!entry || !entry.members.has(userId)) throw new ChatError(Errors.NOT_MEMBER);
    if (a.state !== 'uploaded') throw new ChatError(Errors.ATTACHMENT_NOT_UPLOADED);
    const joinedSeq = joinedSeqOf(entry, userId);
    if (joinedSeq > 0 && a.owner_id !== userId && (await this.messages.lastSeqCarrying(a.attachment_id)) <= joinedSeq) {
      throw new ChatError(Errors.NOT_FOUND, 'no such attachment');
    }
    const signed = await this.objects.presignDownload(a.object_key, this.policy.downloadUrlTtlSeconds);
    return { attachment: viewOf(a), ...signed };
  }

  /**
   * The metadata a message carries for `attachmentIds`, in that order: each must exist, belong to
   * `conversationId` and to `userId` (else ATTACHMENT_NOT_USABLE, one answer for all three so ids
   * of others reveal nothing), and be completed (else ATTACHMENT_NOT_UPLOADED).
   */
  async forMessage(userId: string, conversationId: string, attachmentIds: readonly string[]): Promise<MessageAttachment[]> {
    const found = await this.store.getMany(attachmentIds);
    return attachmentIds.map((id) => {
      const a = found.get(id);
      if (!a || a.owner_id !== userId || a.conversation_id !== conversationId)
        throw new ChatError(Errors.ATTACHMENT_NOT_USABLE, `attachment ${id}: no such attachment of yours in this conversation`);
      if (a.state !== 'uploaded') throw new ChatError(Errors.ATTACHMENT_NOT_UPLOADED, `attachment ${id}: upload not completed`);
      return { attachment_id: a.attachment_id, content_type: a.content_type, size: a.size, ...(a.filename !== null ? { filename: a.filename } : {}) };
    });
  }

  /** Deletes a pending attachment: its record (unless completed meanwhile), its object, its index entry. */
  private async discard(a: AttachmentRecord): Promise<void> {
    if (!(await this.store.deleteIfPending(a.attachment_id))) return;
    await this.objects.delete(a.object_key);
    await this.store.unindex(a.attachment_id, a.created_at);
  }
}
