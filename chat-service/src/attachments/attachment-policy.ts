import type { Config } from '@chat/server/config';
import type { AttachmentPolicy } from './attachment.js';
import { CONTENT_TYPE_PATTERN } from './attachment-parsers.js';

/** The ATTACHMENT_* configuration, checked for consistency (a bad value stops the process at start). */
export function attachmentPolicyFromConfig(c: Config): AttachmentPolicy {
  const bad = c.ATTACHMENT_CONTENT_TYPES.filter((t) => !CONTENT_TYPE_PATTERN.test(t));
  if (bad.length > 0) throw new Error(`ATTACHMENT_CONTENT_TYPES: not lower-case type/subtype without parameters: ${bad.join(', ')}`);
  if (c.ATTACHMENT_ABANDON_AFTER_SECONDS < c.ATTACHMENT_UPLOAD_URL_TTL_SECONDS) {
    throw new Error(
      'ATTACHMENT_ABANDON_AFTER_SECONDS must be at least ATTACHMENT_UPLOAD_URL_TTL_SECONDS, or an upload could be swept while its URL still works',
    );
  }
  return {
    maxBytes: c.ATTACHMENT_MAX_BYTES,
    contentTypes: new Set(c.ATTACHMENT_CONTENT_TYPES),
    uploadUrlTtlSeconds: c.ATTACHMENT_UPLOAD_URL_TTL_SECONDS,
    downloadUrlTtlSeconds: c.ATTACHMENT_DOWNLOAD_URL_TTL_SECONDS,
    abandonAfterMs: c.ATTACHMENT_ABANDON_AFTER_SECONDS * 1000,
  };
}
