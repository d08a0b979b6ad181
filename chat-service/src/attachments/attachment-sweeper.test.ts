import { createLogger } from '@chat/server/logger';
import { describe, expect, it } from 'vitest';
import type { AttachmentRecord } from './attachment.js';
import { HOUR_MS, hourOf, type AttachmentStore, type PendingEntry } from './attachment-store.js';
import { AttachmentSweeper } from './attachment-sweeper.js';
import type { ObjectInfo, ObjectStorage, PresignedRequest } from './object-storage.js';

/** The store's contract in memory; counts the hours read. */
class MemoryAttachmentStore implements AttachmentStore {
  readonly records = new Map<string, AttachmentRecord>();
  readonly index = new Map<number, Map<string, PendingEntry>>();
  readonly hoursRead: number[] = [];

  async create(a: AttachmentRecord): Promise<void> {
    const hour = hourOf(a.created_at);
    if (!this.index.has(hour)) this.index.set(hour, new Map());
    this.index.get(hour)!.set(a.attachment_id, { attachment_id: a.attachment_id, object_key: a.object_key, created_at: a.created_at });
    this.records.set(a.attachment_id, { ...a });
  }
  async get(id: string): Promise<AttachmentRecord | null> {
    return this.records.get(id) ?? null;
  }
  async getMany(ids: readonly string[]): Promise<Map<string, AttachmentRecord>> {
    return new Map(ids.flatMap((id) => (this.records.has(id) ? [[id, this.records.get(id)!] as const] : [])));
  }
  async markUploaded(id: string, at: number): Promise<boolean> {
    const a = this.records.get(id);
    if (a?.state !== 'pending') return false;
    this.records.set(id, { ...a, state: 'uploaded', uploaded_at: at });
    return true;
  }
  async deleteIfPending(id: string): Promise<boolean> {
    const a = this.records.get(id);
    if (a && a.state !== 'pending') return false;
    this.records.delete(id);
    return true;
  }
  async unindex(id: string, createdAt: number): Promise<void> {
    this.index.get(hourOf(createdAt))?.delete(id);
  }
  async pendingInHour(hour: number): Promise<PendingEntry[]> {
    this.hoursRead.push(hour);
    return [...(this.index.get(hour)?.values() ?? [])];
  }
}

/** The bucket in memory (S3 is the third party here). */
class MemoryObjects implements ObjectStorage {
  readonly objects = new Map<string, ObjectInfo>();
  async presignUpload(): Promise<PresignedRequest> {
    throw new Error('not used');
  }
  async presignDownload(): Promise<{ url: string; expires_at: number }> {
    throw new Error('not used');
  }
  async head(key: string): Promise<ObjectInfo | null> {
    return this.objects.get(key) ?? null;
  }
  async delete(key: string): Promise<void> {
    this.objects.delete(key);
  }
}

const NOW = 1_000 * HOUR_MS + 30 * 60_000; // half past an hour
const ABANDON_MS = HOUR_MS;

function record(id: string, createdAt: number): AttachmentRecord {
  return {
    attachment_id: id,
    conversation_id: '7',
    owner_id: 'alice',
    object_key: `attachments/7/${id}`,
    content_type: 'image/png',
    size: 1,
    filename: null,
    state: 'pending',
    created_at: createdAt,
    uploaded_at: null,
  };
}

async function setup(records: AttachmentRecord[]) {
  const store = new MemoryAttachmentStore();
  const objects = new MemoryObjects();
  for (const r of records) {
    await store.create(r);
    objects.objects.set(r.object_key, { size: 1, contentType: 'image/png' });
  }
  let now = NOW;
  const sweeper = new AttachmentSweeper(store, objects, createLogger('sweeper-test', 'silent'), {
    abandonAfterMs: ABANDON_MS,
    lookbackMs: 5 * HOUR_MS,
    now: () => now,
  });
  return { store, objects, sweeper, advance: (ms: number) => (now += ms) };
}

describe('AttachmentSweeper', () => {
  it('deletes uploads pending past the deadline with their objects, and keeps younger ones', async () => {
    const old = record('1', NOW - 3 * HOUR_MS);
    const justDue = record('2', NOW - ABANDON_MS);
    const young = record('3', NOW - ABANDON_MS + 1);
    const { store, objects, sweeper } = await setup([old, justDue, young]);
    expect(await sweeper.sweep()).toBe(2);
    expect([...store.records.keys()]).toEqual(['3']);
    expect([...objects.objects.keys()]).toEqual([young.object_key]);
    expect((await store.pendingInHour(hourOf(young.created_at))).map((e) => e.attachment_id)).toEqual(['3']);
  });

  it('leaves a completed attachment and its object alone, dropping only its stale index entry', async () => {
    const done = record('1', NOW - 2 * HOUR_MS);
    const { store, objects, sweeper } = await setup([done]);
    expect(await store.markUploaded('1', NOW)).toBe(true); // completed, but the entry was not removed (a crash)
    expect(await sweeper.sweep()).toBe(0);
    expect(store.records.get('1')?.state).toBe('uploaded');
    expect(objects.objects.has(done.object_key)).toBe(true);
    expect(await store.pendingInHour(hourOf(done.created_at))).toEqual([]);
  });

  it('reads the whole look-back once, then only the hours that may still hold pending uploads', async () => {
    const { store, sweeper, advance } = await setup([record('1', NOW - 4 * HOUR_MS), record('2', NOW - 10 * 60_000)]);
    await sweeper.sweep();
    const cutoffHour = hourOf(NOW - ABANDON_MS);
    expect(store.hoursRead).toEqual([cutoffHour - 5, cutoffHour - 4, cutoffHour - 3, cutoffHour - 2, cutoffHour - 1, cutoffHour]);
    store.hoursRead.length = 0;
    await sweeper.sweep();
    expect(store.hoursRead).toEqual([cutoffHour]); // the hour holding the cut-off may get due entries later
    store.hoursRead.length = 0;
    advance(HOUR_MS);
    expect(await sweeper.sweep()).toBe(1); // '2' is due now
    expect(store.hoursRead).toEqual([cutoffHour, cutoffHour + 1]);
  });
});
