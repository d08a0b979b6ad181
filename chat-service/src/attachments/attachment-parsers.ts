import { ShapeError, optString, reqInt, reqString, type Obj } from '@chat/protocol';
import type { UploadDeclaration } from './attachment-service.js';

/** `type/subtype`, lower case, no parameters (RFC 6838 name characters). */
export const CONTENT_TYPE_PATTERN = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,63}$/;
/** A display name only (never part of a key): no control characters, no path separators. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what a file name must not contain
const FILENAME_PATTERN = /^[^\u0000-\u001f\u007f/\\]{1,255}$/u;
/** Largest size a declaration may carry; the configured cap is checked by the service. */
const MAX_DECLARED_SIZE = Number.MAX_SAFE_INTEGER;

/** Body of POST /v1/conversations/:id/attachments. */
export function parseUploadDeclaration(o: Obj): UploadDeclaration {
  const content_type = reqString(o, 'content_type', 129, CONTENT_TYPE_PATTERN);
  const size = reqInt(o, 'size', 1, MAX_DECLARED_SIZE);
  const filename = optString(o, 'filename', 255, FILENAME_PATTERN);
  if (filename !== undefined && filename.trim() === '') throw new ShapeError('filename', 'must not be blank');
  return { content_type, size, ...(filename !== undefined ? { filename } : {}) };
}
