import { randomBytes } from 'node:crypto';
import { DeleteObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveEndpoints } from '../src/local/config.js';
import { s3Client } from '../src/local/s3-store.js';

// Needs the running infrastructure (npm test / npm run infra -- up): S3_ENDPOINT etc. name the
// S3-compatible store `up` started (S3Proxy, which checks signatures as AWS S3 does).
const target = resolveEndpoints().s3;
const client = s3Client(target);
const prefix = `it-presign-${randomBytes(4).toString('hex')}/`;
const written: string[] = [];

afterAll(async () => {
  for (const Key of written) await client.send(new DeleteObjectCommand({ Bucket: target.bucket, Key })).catch(() => undefined);
  client.destroy();
});

/** A presigned PUT whose signature covers content type and length, as chat-service issues them. */
async function presignPut(key: string, contentType: string, length: number, options: { expiresIn?: number; signingDate?: Date } = {}): Promise<string> {
  written.push(key);
  return getSignedUrl(client, new PutObjectCommand({ Bucket: target.bucket, Key: key, ContentType: contentType, ContentLength: length }), {
    expiresIn: options.expiresIn ?? 60,
    signableHeaders: new Set(['content-type', 'content-length']),
    ...(options.signingDate ? { signingDate: options.signingDate } : {}),
  });
}

async function put(url: string, body: Uint8Array, contentType: string): Promise<{ status: number; text: string }> {
  const res = await fetch(url, { method: 'PUT', body, headers: { 'content-type': contentType } });
  return { status: res.status, text: await res.text() };
}

async function exists(key: string): Promise<boolean> {
  try {
    await client.send(new HeadObjectCommand({ Bucket: target.bucket, Key: key }));
    return true;
  } catch (err) {
    if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return false;
    throw err;
  }
}

describe('S3-compatible store of the local infrastructure (presigned URLs)', () => {
  const body = randomBytes(1000);

  it('accepts an upload through a presigned PUT and stores what was signed', async () => {
    const key = `${prefix}ok`;
    const res = await put(await presignPut(key, 'image/png', body.length), body, 'image/png');
    expect(res.status).toBe(200);
    const head = await client.send(new HeadObjectCommand({ Bucket: target.bucket, Key: key }));
    expect(head.ContentLength).toBe(body.length);
    expect(head.ContentType).toBe('image/png');
  });

  it('refuses a URL whose signature was tampered with', async () => {
    const key = `${prefix}tampered`;
    const url = await presignPut(key, 'image/png', body.length);
    const tampered = url.replace(/X-Amz-Signature=([0-9a-f])/, (_, d: string) => `X-Amz-Signature=${d === '0' ? '1' : '0'}`);
    expect(tampered).not.toBe(url);
    const res = await put(tampered, body, 'image/png');
    expect(res.status).toBe(403);
    expect(res.text).toContain('SignatureDoesNotMatch');
    expect(await exists(key)).toBe(false);
  });

  it('refuses a URL used after it expired', async () => {
    const key = `${prefix}expired`;
    // Signed ten minutes ago for one minute: expired without waiting.
    const url = await presignPut(key, 'image/png', body.length, { expiresIn: 60, signingDate: new Date(Date.now() - 600_000) });
    const res = await put(url, body, 'image/png');
    expect(res.status).toBe(403);
    expect(res.text).toMatch(/expired/i);
    expect(await exists(key)).toBe(false);
  });

  it('refuses a body of another length or type than the signed one', async () => {
    const key = `${prefix}mismatch`;
    const url = await presignPut(key, 'image/png', body.length);
    expect((await put(url, randomBytes(body.length + 1), 'image/png')).status).toBe(403);
    expect((await put(url, body, 'image/jpeg')).status).toBe(403);
    expect(await exists(key)).toBe(false);
  });
});
