import type { PresignedUpload } from '@chat/protocol';

/** A pre-signed HTTP request a client performs itself against the object store (the wire contract's PresignedUpload). */
export type PresignedRequest = PresignedUpload;

export interface ObjectInfo {
  size: number;
  contentType: string;
}

/**
 * The bucket holding attachment bytes. Clients move the bytes themselves through pre-signed URLs;
 * chat-service only signs, inspects and deletes. Failures of the store surface as 4101 UNAVAILABLE.
 */
export interface ObjectStorage {
  /** A PUT of exactly `size` bytes of `contentType` to `key`, valid for `ttlSeconds`. */
  presignUpload(key: string, contentType: string, size: number, ttlSeconds: number): Promise<PresignedRequest>;
  /** A GET of `key` valid for `ttlSeconds`. */
  presignDownload(key: string, ttlSeconds: number): Promise<{ url: string; expires_at: number }>;
  /** Size and content type of the stored object, or null when there is none. */
  head(key: string): Promise<ObjectInfo | null>;
  /** Removes the object; removing a missing one succeeds. */
  delete(key: string): Promise<void>;
}
