import { CreateBucketCommand, HeadBucketCommand, ListBucketsCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import type { S3Target } from './config.js';

/** An S3 client for the tooling: path-style as configured, checksums only where S3 requires them. */
export function s3Client(t: S3Target): S3Client {
  return new S3Client({
    endpoint: t.endpoint,
    region: t.region,
    forcePathStyle: t.forcePathStyle,
    credentials: { accessKeyId: t.accessKeyId, secretAccessKey: t.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 1,
  });
}

/** Ready means a signed request is answered: the store runs and accepts our credentials. */
export async function s3Ready(t: S3Target): Promise<void> {
  const client = s3Client(t);
  try {
    await client.send(new ListBucketsCommand({}));
  } finally {
    client.destroy();
  }
}

/** Creates the attachments bucket unless it exists; returns whether it was created. */
export async function ensureBucket(t: S3Target): Promise<boolean> {
  const client = s3Client(t);
  try {
    try {
      await client.send(new HeadBucketCommand({ Bucket: t.bucket }));
      return false;
    } catch (err) {
      if (!(err instanceof S3ServiceException) || err.$metadata.httpStatusCode !== 404) throw err;
    }
    try {
      await client.send(new CreateBucketCommand({ Bucket: t.bucket }));
    } catch (err) {
      // Created meanwhile by a concurrent `up`: just as good.
      if (err instanceof S3ServiceException && err.name === 'BucketAlreadyOwnedByYou') return false;
      throw err;
    }
    return true;
  } finally {
    client.destroy();
  }
}
