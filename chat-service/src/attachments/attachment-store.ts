import type { AttachmentRecord } from './attachment.js';

/** A pending attachment as the sweeper finds it. */
export interface PendingEntry {
  attachment_id: string;
  object_key: string;
  created_at: number;
}

/**
 * Durable attachment records plus an index of the pending ones by the hour they were created in.
 *
 * Contract: `create` indexes the attachment as pending before it writes the record, so no record
 * can be pending without the sweeper finding it. `markUploaded` and `deleteIfPending` are
 * compare-and-set on the state (linearizable): of a completion and a sweep racing for the same
 * attachment exactly one wins, so a completed attachment never loses its object and a swept one
 * is never completed. `markUploaded` leaves the index entry; the caller removes it afterwards
 * (`unindex`), and the sweeper drops entries whose record is no longer pending.
 */
export interface AttachmentStore {
  create(a: AttachmentRecord): Promise<void>;
  get(attachmentId: string): Promise<AttachmentRecord | null>;
  getMany(attachmentIds: readonly string[]): Promise<Map<string, AttachmentRecord>>;
  /** pending → uploaded; false when the record is not pending (already uploaded, or gone). */
  markUploaded(attachmentId: string, uploadedAt: number): Promise<boolean>;
  /** Deletes the record if it is still pending (or already gone): true; false when it was uploaded. */
  deleteIfPending(attachmentId: string): Promise<boolean>;
  /** Removes the index entry of an attachment created at `createdAt`. */
  unindex(attachmentId: string, createdAt: number): Promise<void>;
  /** Index entries of one hour (`hourOf(created_at)`), in id order. */
  pendingInHour(hour: number): Promise<PendingEntry[]>;
}

export const HOUR_MS = 3_600_000;

export function hourOf(epochMs: number): number {
  return Math.floor(epochMs / HOUR_MS);
}
