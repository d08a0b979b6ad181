import type cassandra from 'cassandra-driver';
import type { CassandraClient } from '@chat/server/clients';
import { fromLong, longToNumber, toLong } from '../store/long.js';
import type { AttachmentRecord } from './attachment.js';
import { hourOf, type AttachmentStore, type PendingEntry } from './attachment-store.js';

const IDEMPOTENT = { prepare: true, isIdempotent: true } as const;
/** Compare-and-set (Paxos): never retried blindly by the driver. */
const CAS = { prepare: true, isIdempotent: false } as const;
const COLUMNS = 'attachment_id, conversation_id, owner_id, object_key, content_type, size, filename, state, created_at, uploaded_at';

function rowToRecord(row: cassandra.types.Row): AttachmentRecord {
  return {
    attachment_id: fromLong(row.get('attachment_id')),
    conversation_id: fromLong(row.get('conversation_id')),
    owner_id: row.get('owner_id') as string,
    object_key: row.get('object_key') as string,
    content_type: row.get('content_type') as string,
    size: longToNumber(row.get('size')),
    filename: (row.get('filename') as string | null) ?? null,
    state: row.get('state') as AttachmentRecord['state'],
    created_at: (row.get('created_at') as Date).getTime(),
    uploaded_at: (row.get('uploaded_at') as Date | null)?.getTime() ?? null,
  };
}

/** AttachmentStore on the `attachments` and `pending_attachments` tables (deploy/cassandra/004_attachments.cql). */
export class CassandraAttachmentStore implements AttachmentStore {
  constructor(private readonly db: CassandraClient) {}

  async create(a: AttachmentRecord): Promise<void> {
    const id = toLong(a.attachment_id);
    await this.db.execute(
      'INSERT INTO pending_attachments (hour, attachment_id, object_key, created_at) VALUES (?, ?, ?, ?)',
      [hourOf(a.created_at), id, a.object_key, new Date(a.created_at)],
      IDEMPOTENT,
    );
    await this.db.execute(
      `INSERT INTO attachments (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        id,
        toLong(a.conversation_id),
        a.owner_id,
        a.object_key,
        a.content_type,
        a.size,
        a.filename,
        a.state,
        new Date(a.created_at),
        a.uploaded_at === null ? null : new Date(a.uploaded_at),
      ],
      IDEMPOTENT,
    );
  }

  async get(attachmentId: string): Promise<AttachmentRecord | null> {
    const row = (await this.db.execute(`SELECT ${COLUMNS} FROM attachments WHERE attachment_id = ?`, [toLong(attachmentId)], IDEMPOTENT)).first();
    return row ? rowToRecord(row) : null;
  }

  async getMany(attachmentIds: readonly string[]): Promise<Map<string, AttachmentRecord>> {
    const out = new Map<string, AttachmentRecord>();
    if (attachmentIds.length === 0) return out;
    const rs = await this.db.execute(`SELECT ${COLUMNS} FROM attachments WHERE attachment_id IN ?`, [[...new Set(attachmentIds)].map(toLong)], IDEMPOTENT);
    for (const row of rs.rows) {
      const a = rowToRecord(row);
      out.set(a.attachment_id, a);
    }
    return out;
  }

  async markUploaded(attachmentId: string, uploadedAt: number): Promise<boolean> {
    const rs = await this.db.execute(
      "UPDATE attachments SET state = 'uploaded', uploaded_at = ? WHERE attachment_id = ? IF state = 'pending'",
      [new Date(uploadedAt), toLong(attachmentId)],
      CAS,
    );
    return rs.wasApplied();
  }

  async deleteIfPending(attachmentId: string): Promise<boolean> {
    const rs = await this.db.execute("DELETE FROM attachments WHERE attachment_id = ? IF state = 'pending'", [toLong(attachmentId)], CAS);
    if (rs.wasApplied()) return true;
    // Not applied: either the row is gone (nothing to keep) or it holds another state (uploaded).
    const state: unknown = rs.first()?.get('state');
    return state === null || state === undefined;
  }

  async unindex(attachmentId: string, createdAt: number): Promise<void> {
    await this.db.execute('DELETE FROM pending_attachments WHERE hour = ? AND attachment_id = ?', [hourOf(createdAt), toLong(attachmentId)], IDEMPOTENT);
  }

  async pendingInHour(hour: number): Promise<PendingEntry[]> {
    const rs = await this.db.execute('SELECT attachment_id, object_key, created_at FROM pending_attachments WHERE hour = ?', [hour], {
      ...IDEMPOTENT,
      fetchSize: 1000,
    });
    const out: PendingEntry[] = [];
    for await (const row of rs) {
      out.push({
        attachment_id: fromLong(row.get('attachment_id')),
        object_key: row.get('object_key') as string,
        created_at: (row.get('created_at') as Date).getTime(),
      });
    }
    return out;
  }
}
