import { reqId } from './canonical-id.js';
import { MAX_ATTACHMENTS_PER_MESSAGE, type MessageAttachment } from './frames.js';
import { ShapeError, isObject, optString, reqArray, reqInt, reqString } from './validate.js';

/**
 * The `attachments` of a stored message as servers pass it on (Kafka records, storage): at most
 * MAX_ATTACHMENTS_PER_MESSAGE, canonical ids, every field typed. Throws ShapeError.
 */
export function parseMessageAttachments(value: unknown): MessageAttachment[] {
  return reqArray({ attachments: value }, 'attachments', MAX_ATTACHMENTS_PER_MESSAGE).map((a) => {
    if (!isObject(a)) throw new ShapeError('attachments[]', 'must be an object');
    const filename = optString(a, 'filename', 255);
    return {
      attachment_id: reqId(a, 'attachment_id'),
      content_type: reqString(a, 'content_type', 129),
      size: reqInt(a, 'size', 1, Number.MAX_SAFE_INTEGER),
      ...(filename !== undefined ? { filename } : {}),
    };
  });
}
