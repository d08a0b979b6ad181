import cassandra from 'cassandra-driver';
import type { CassandraClient } from '@chat/server/clients';
import type { CoalescingBatcher } from './coalescing-batcher.js';
import { fromLong, longToNumber, toLong } from './long.js';
import { clientKey, InFlightLimit, type SequencedSend, type SequencedSendStore } from './sequenced-send-store.js';

const IDEMPOTENT = { prepare: true, isIdempotent: true } as const;
/** Point reads kept in flight by the store: enough to hide latency, few enough not to flood the pool. */
const MAX_IN_FLIGHT = 256;
const SELECT = 'SELECT message_id, seq, body_sha256, created_at FROM sequenced_sends WHERE conversation_id = ? AND sender_id = ? AND client_msg_id = ?';
const INSERT =
  'INSERT INTO sequenced_sends (conversation_id, sender_id, client_msg_id, message_id, seq, body_sha256, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) USING TIMESTAMP ?';
/** A row's values besides its strings. */
const ROW_BYTES = 60;

/** SequencedSendStore on the `sequenced_sends` table (deploy/cassandra/002_sequenced_sends.cql). */
export class CassandraSequencedSendStore implements SequencedSendStore {
  private readonly limit = new InFlightLimit(MAX_IN_FLIGHT);

  constructor(
    private readonly db: CassandraClient,
    private readonly batcher: CoalescingBatcher,
  ) {}

  async find(conversationId: string, keys: { sender_id: string; client_msg_id: string }[]): Promise<Map<string, SequencedSend[]>> {
    const id = toLong(conversationId);
    const unique = [...new Map(keys.map((k) => [clientKey(k), k])).values()];
    const out = new Map<string, SequencedSend[]>();
    await Promise.all(unique.map(async (k) => {
      const rs = await this.limit.run(() => this.db.execute(SELECT, [id, k.sender_id, k.client_msg_id], IDEMPOTENT));
      if (rs.rows.length === 0) return;
      out.set(
        clientKey(k),
        rs.rows.map((r) => ({
          conversation_id: conversationId,
          sender_id: k.sender_id,
          client_msg_id: k.client_msg_id,
          message_id: fromLong(r.message_id),
          seq: longToNumber(r.seq),
          body_sha256: r.body_sha256 as string,
          created_at: (r.created_at as Date).getTime(),
        })),
      );
    }));
    return out;
  }

  async record(sends: SequencedSend[], timestamp: bigint): Promise<void> {
    const ts = cassandra.types.Long.fromString(timestamp.toString());
    // Each row is its own partition: rows are shared out over batches with other conversations' rows.
    await Promise.all(
      sends.map((s) =>
        this.batcher.write(
          [
            {
              query: INSERT,
              params: [toLong(s.conversation_id), s.sender_id, s.client_msg_id, toLong(s.message_id), toLong(String(s.seq)), s.body_sha256, new Date(s.created_at), ts],
            },
          ],
          ROW_BYTES + s.sender_id.length + s.client_msg_id.length + s.body_sha256.length,
        ),
      ),
    );
  }
}
