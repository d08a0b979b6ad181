import { randomBytes } from 'node:crypto';
import { HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Errors } from '@chat/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { objectKeyOf } from '../src/attachments/attachment.js';
import { createS3Client, s3SettingsFromConfig } from '../src/attachments/s3-object-storage.js';
import { startSystem, waitFor, type TestSystem } from './support/system.js';

// Attachments against the real S3-compatible store of the test infrastructure (S3Proxy, which
// checks signatures): upload grants, completion, download URLs, abandoned-upload cleanup.
// Short lifetimes so expiry and the sweeper can be observed: URLs live 3 s, pending uploads 4 s.
const UPLOAD_TTL_S = 3;
const ABANDON_S = 4;

let sys: TestSystem;
let admin: S3Client;
const uid = (name: string) => `${name}-${randomBytes(3).toString('hex')}`;

interface Grant {
  attachment: { attachment_id: string; conversation_id: string; content_type: string; size: number; filename?: string; state: string };
  upload: { method: 'PUT'; url: string; headers: Record<string, string>; expires_at: number };
}
interface ErrorBody {
  error: { code: number; name: string };
}

beforeAll(async () => {
  sys = await startSystem(0, {
    env: {
      ATTACHMENT_MAX_BYTES: '65536',
      ATTACHMENT_CONTENT_TYPES: 'image/png,application/pdf',
      ATTACHMENT_UPLOAD_URL_TTL_SECONDS: String(UPLOAD_TTL_S),
      ATTACHMENT_ABANDON_AFTER_SECONDS: String(ABANDON_S),
      ATTACHMENT_SWEEP_INTERVAL_MS: '250',
    },
  });
  admin = createS3Client(s3SettingsFromConfig(sys.config), sys.config.S3_ENDPOINT);
}, 180_000);

afterAll(async () => {
  admin?.destroy();
  await sys?.close();
});

async function group(owner: string, members: string[]): Promise<string> {
  const res = await sys.rest<{ conversation: { conversation_id: string } }>(owner, 'POST', '/v1/conversations', {
    kind: 'group',
    title: 'files',
    member_ids: members,
  });
  expect(res.status).toBe(201);
  return res.body.conversation.conversation_id;
}

async function requestUpload(user: string, conversationId: string, body: unknown): Promise<{ status: number; body: Grant & ErrorBody }> {
  return sys.rest<Grant & ErrorBody>(user, 'POST', `/v1/conversations/${conversationId}/attachments`, body);
}

async function put(grant: Grant, bytes: Uint8Array, url = grant.upload.url): Promise<number> {
  const res = await fetch(url, { method: grant.upload.method, headers: grant.upload.headers, body: bytes });
  await res.arrayBuffer();
  return res.status;
}

async function objectExists(key: string): Promise<boolean> {
  try {
    await admin.send(new HeadObjectCommand({ Bucket: sys.config.S3_BUCKET, Key: key }));
    return true;
  } catch (err) {
    if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return false;
    throw err;
  }
}

const keyOf = (g: Grant) => objectKeyOf(g.attachment.conversation_id, g.attachment.attachment_id);

describe('attachments through pre-signed URLs (S3Proxy)', () => {
  it('a member uploads through the pre-signed PUT, completes it, and another member downloads the same bytes', async () => {
    const [alice, bob] = [uid('alice'), uid('bob')];
    const conv = await group(alice, [bob]);
    const bytes = randomBytes(5000);
    const grant = await requestUpload(alice, conv, { content_type: 'image/png', size: bytes.length, filename: 'cat.png' });
    expect(grant.status).toBe(201);
    expect(grant.body.attachment).toMatchObject({
      conversation_id: conv,
      content_type: 'image/png',
      size: bytes.length,
      filename: 'cat.png',
      state: 'pending',
    });
    // The key is the server's: derived from ids, nothing of the client's filename.
    expect(grant.body.upload.url).toContain(encodeURI(keyOf(grant.body)));
    expect(grant.body.upload.url).not.toContain('cat.png');
    expect(grant.body.upload.expires_at).toBeLessThanOrEqual(Date.now() + UPLOAD_TTL_S * 1000);

    // Not uploaded yet: completion refuses, downloads too.
    const early = await sys.rest<ErrorBody>(alice, 'POST', `/v1/attachments/${grant.body.attachment.attachment_id}/complete`);
    expect(early.body.error.name).toBe(Errors.ATTACHMENT_NOT_UPLOADED.name);

    expect(await put(grant.body, bytes)).toBe(200);
    // Only the uploader completes.
    const byBob = await sys.rest<ErrorBody>(bob, 'POST', `/v1/attachments/${grant.body.attachment.attachment_id}/complete`);
    expect(byBob.status).toBe(403);
    expect(byBob.body.error.name).toBe(Errors.ATTACHMENT_NOT_USABLE.name);
    const done = await sys.rest<{ attachment: Grant['attachment'] }>(alice, 'POST', `/v1/attachments/${grant.body.attachment.attachment_id}/complete`);
    expect(done.status).toBe(200);
    expect(done.body.attachment.state).toBe('uploaded');

    const dl = await sys.rest<{ url: string; expires_at: number; attachment: Grant['attachment'] }>(
      bob,
      'GET',
      `/v1/attachments/${grant.body.attachment.attachment_id}/download`,
    );
    expect(dl.status).toBe(200);
    expect(dl.body.attachment).toMatchObject({ content_type: 'image/png', size: bytes.length, state: 'uploaded' });
    const got = await fetch(dl.body.url);
    expect(got.status).toBe(200);
    expect(Buffer.from(await got.arrayBuffer()).equals(bytes)).toBe(true);

    // A tampered download signature is refused by the store.
    const tampered = dl.body.url.replace(/X-Amz-Signature=([0-9a-f])/, (_, d: string) => `X-Amz-Signature=${d === '0' ? '1' : '0'}`);
    const refused = await fetch(tampered);
    await refused.arrayBuffer();
    expect(refused.status).toBe(403);

    // Completed uploads are never swept: still there after the abandonment deadline has passed.
    await waitFor(() => Date.now() > grant.body.upload.expires_at + (ABANDON_S - UPLOAD_TTL_S) * 1000 + 1000, 10_000, 'abandonment deadline');
    const swept = await sys.rest(bob, 'GET', `/v1/attachments/${grant.body.attachment.attachment_id}/download`);
    expect(swept.status).toBe(200);
    expect(await objectExists(keyOf(grant.body))).toBe(true);
  });

  it('a non-member gets neither an upload nor a download URL', async () => {
    const [alice, bob, eve] = [uid('alice'), uid('bob'), uid('eve')];
    const conv = await group(alice, [bob]);
    const upload = await requestUpload(eve, conv, { content_type: 'image/png', size: 10 });
    expect(upload.status).toBe(403);
    expect(upload.body.error.name).toBe(Errors.NOT_MEMBER.name);

    const bytes = randomBytes(10);
    const grant = await requestUpload(alice, conv, { content_type: 'image/png', size: bytes.length });
    expect(await put(grant.body, bytes)).toBe(200);
    expect((await sys.rest(alice, 'POST', `/v1/attachments/${grant.body.attachment.attachment_id}/complete`)).status).toBe(200);
    const dl = await sys.rest<ErrorBody & { url?: string }>(eve, 'GET', `/v1/attachments/${grant.body.attachment.attachment_id}/download`);
    expect(dl.status).toBe(403);
    expect(dl.body.error.name).toBe(Errors.NOT_MEMBER.name);
    expect(dl.body.url).toBeUndefined();
  });

  it('refuses a declared type off the allowlist, an oversize declaration, and bad shapes, with nothing signed', async () => {
    const alice = uid('alice');
    const conv = await group(alice, [uid('bob')]);
    const wrongType = await requestUpload(alice, conv, { content_type: 'application/x-msdownload', size: 10 });
    expect(wrongType.status).toBe(415);
    expect(wrongType.body.error.name).toBe(Errors.ATTACHMENT_TYPE_NOT_ALLOWED.name);
    const oversize = await requestUpload(alice, conv, { content_type: 'image/png', size: 65537 });
    expect(oversize.status).toBe(413);
    expect(oversize.body.error.name).toBe(Errors.ATTACHMENT_TOO_LARGE.name);
    for (const bad of [
      { content_type: 'image/png' },
      { content_type: 'Image/PNG', size: 1 },
      { content_type: 'image/png; x=1', size: 1 },
      { content_type: 'image/png', size: 0 },
      { content_type: 'image/png', size: 1, filename: '../x' },
    ]) {
      const res = await requestUpload(alice, conv, bad);
      expect(res.status, JSON.stringify(bad)).toBe(400);
      expect(res.body.error.name).toBe(Errors.INVALID_SHAPE.name);
    }
    for (const res of [wrongType, oversize]) expect((res.body as Partial<Grant>).upload).toBeUndefined();
  });

  it('the store refuses an upload of another size or type than declared, and an expired or tampered URL; the sweeper leaves nothing behind', async () => {
    const alice = uid('alice');
    const conv = await group(alice, [uid('bob')]);
    const bytes = randomBytes(1000);
    const grant = (await requestUpload(alice, conv, { content_type: 'application/pdf', size: bytes.length })).body;
    expect(await put(grant, randomBytes(bytes.length + 1))).toBe(403); // oversize body
    expect(await put({ ...grant, upload: { ...grant.upload, headers: { 'content-type': 'image/png' } } }, bytes)).toBe(403); // other type
    const tampered = grant.upload.url.replace(/X-Amz-Signature=([0-9a-f])/, (_, d: string) => `X-Amz-Signature=${d === '0' ? '1' : '0'}`);
    expect(await put(grant, bytes, tampered)).toBe(403);
    expect(await objectExists(keyOf(grant))).toBe(false);
    // After its expiry the URL itself is refused, whatever is sent.
    await waitFor(() => Date.now() > grant.upload.expires_at + 1000, 10_000, 'upload URL expiry');
    expect(await put(grant, bytes)).toBe(403);
    expect(await objectExists(keyOf(grant))).toBe(false);

    // Never completed: the sweeper deletes the record, so the attachment can never be completed.
    await waitFor(
      async () =>
        (await sys.rest<ErrorBody>(alice, 'POST', `/v1/attachments/${grant.attachment.attachment_id}/complete`)).body.error?.name ===
        Errors.ATTACHMENT_NOT_USABLE.name,
      15_000,
      'abandoned upload swept',
    );
  });

  it('an upload never completed is deleted from the bucket by the sweeper', async () => {
    const alice = uid('alice');
    const conv = await group(alice, [uid('bob')]);
    const bytes = randomBytes(2000);
    const grant = (await requestUpload(alice, conv, { content_type: 'image/png', size: bytes.length })).body;
    expect(await put(grant, bytes)).toBe(200);
    expect(await objectExists(keyOf(grant))).toBe(true);
    await waitFor(async () => !(await objectExists(keyOf(grant))), 15_000, 'abandoned object deleted');
    const late = await sys.rest<ErrorBody>(alice, 'POST', `/v1/attachments/${grant.attachment.attachment_id}/complete`);
    expect(late.body.error.name).toBe(Errors.ATTACHMENT_NOT_USABLE.name);
  });

  it('completion discards an object that differs from the declaration (a store that did not enforce the signed length)', async () => {
    const alice = uid('alice');
    const conv = await group(alice, [uid('bob')]);
    const grant = (await requestUpload(alice, conv, { content_type: 'image/png', size: 100 })).body;
    // Written with the server's own credentials, bypassing the signed URL.
    await admin.send(new PutObjectCommand({ Bucket: sys.config.S3_BUCKET, Key: keyOf(grant), Body: randomBytes(150), ContentType: 'image/png' }));
    const res = await sys.rest<ErrorBody>(alice, 'POST', `/v1/attachments/${grant.attachment.attachment_id}/complete`);
    expect(res.status).toBe(422);
    expect(res.body.error.name).toBe(Errors.ATTACHMENT_MISMATCH.name);
    expect(await objectExists(keyOf(grant))).toBe(false);
    const again = await sys.rest<ErrorBody>(alice, 'POST', `/v1/attachments/${grant.attachment.attachment_id}/complete`);
    expect(again.body.error.name).toBe(Errors.ATTACHMENT_NOT_USABLE.name);
  });
});
