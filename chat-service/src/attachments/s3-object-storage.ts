import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { ChatError, Errors } from '@chat/protocol';
import type { ObjectInfo, ObjectStorage, PresignedRequest } from './object-storage.js';

/** Where the bucket is and how to reach it (S3_* configuration). */
export interface S3Settings {
  endpoint: string;
  /** Endpoint clients reach the store at, when it differs from `endpoint`; '' = the same. */
  publicEndpoint: string;
  region: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  forcePathStyle: boolean;
}

/**
 * An S3 client for `endpoint` ('' = AWS's for the region). Checksums only where S3 requires
 * them: otherwise pre-signed PUTs would carry a checksum of an empty body, and S3-compatible stores
 * differ in what they accept.
 */
export function createS3Client(s: S3Settings, endpoint: string): S3Client {
  return new S3Client({
    region: s.region,
    forcePathStyle: s.forcePathStyle,
    ...(endpoint ? { endpoint } : {}),
    // Empty keys: the SDK's default credential chain (environment, profile, instance role).
    ...(s.accessKeyId ? { credentials: { accessKeyId: s.accessKeyId, secretAccessKey: s.secretAccessKey } } : {}),
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

function statusOf(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}

/** A store that cannot be reached or answers 5xx is unavailability (retry); anything else is a bug. */
function storeError(err: unknown): Error {
  if (err instanceof S3ServiceException && (statusOf(err) ?? 500) < 500) return err;
  return new ChatError(Errors.UNAVAILABLE, 'object storage unavailable; retry later');
}

/**
 * ObjectStorage on S3 or any S3-compatible store. `signer` signs URLs for clients (it may name a
 * public endpoint); `client` does the server's own requests.
 */
export class S3ObjectStorage implements ObjectStorage {
  constructor(
    private readonly client: S3Client,
    private readonly signer: S3Client,
    private readonly bucket: string,
  ) {}

  async presignUpload(key: string, contentType: string, size: number, ttlSeconds: number): Promise<PresignedRequest> {
    const signedAt = Date.now();
    // content-type and content-length are signed: the store refuses a body of another type or length.
    const url = await getSignedUrl(this.signer, new PutObjectCommand({ Bucket: this.bucket, Key: key, ContentType: contentType, ContentLength: size }), {
      expiresIn: ttlSeconds,
      signableHeaders: new Set(['content-type', 'content-length']),
    });
    return { method: 'PUT', url, headers: { 'content-type': contentType }, expires_at: signedAt + ttlSeconds * 1000 };
  }

  async presignDownload(key: string, ttlSeconds: number): Promise<{ url: string; expires_at: number }> {
    const signedAt = Date.now();
    const url = await getSignedUrl(this.signer, new GetObjectCommand({ Bucket: this.bucket, Key: key }), { expiresIn: ttlSeconds });
    return { url, expires_at: signedAt + ttlSeconds * 1000 };
  }

  async head(key: string): Promise<ObjectInfo | null> {
    try {
      const res = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return { size: res.ContentLength ?? 0, contentType: res.ContentType ?? '' };
    } catch (err) {
      if (statusOf(err) === 404) return null;
      throw storeError(err);
    }
  }

  async delete(key: string): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
    } catch (err) {
      if (statusOf(err) === 404) return;
      throw storeError(err);
    }
  }
}

/** The S3_* variables of the configuration. */
export function s3SettingsFromConfig(c: {
  S3_ENDPOINT: string;
  S3_PUBLIC_ENDPOINT: string;
  S3_REGION: string;
  S3_BUCKET: string;
  S3_ACCESS_KEY_ID: string;
  S3_SECRET_ACCESS_KEY: string;
  S3_FORCE_PATH_STYLE: boolean;
}): S3Settings {
  return {
    endpoint: c.S3_ENDPOINT,
    publicEndpoint: c.S3_PUBLIC_ENDPOINT,
    region: c.S3_REGION,
    bucket: c.S3_BUCKET,
    accessKeyId: c.S3_ACCESS_KEY_ID,
    secretAccessKey: c.S3_SECRET_ACCESS_KEY,
    forcePathStyle: c.S3_FORCE_PATH_STYLE,
  };
}

/** The server's client and the signer of client URLs (one client when both use one endpoint), with a close. */
export function createS3ObjectStorage(s: S3Settings): { storage: S3ObjectStorage; close(): void } {
  const client = createS3Client(s, s.endpoint);
  const signer = s.publicEndpoint && s.publicEndpoint !== s.endpoint ? createS3Client(s, s.publicEndpoint) : client;
  return {
    storage: new S3ObjectStorage(client, signer, s.bucket),
    close: () => {
      client.destroy();
      if (signer !== client) signer.destroy();
    },
  };
}
