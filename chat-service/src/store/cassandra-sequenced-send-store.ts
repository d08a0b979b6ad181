import cassandra from 'cassandra-driver';
import type { CassandraClient } from '@chat/server/clients';
import type { CoalescingBatcher, Statement } from './coalescing-batcher.js';
import { fromLong, longToNumber, toLong } from './long.js';
import { clientKey, InFlightLimit, type SendKey, type SequencedSend, type SequencedSendStore } from './sequenced-send-store.js';

const IDEMPOTENT = { prepare: true, isIdempotent: true } as const;
/** Point reads kept in flight by the store: enough to hide latency, few enough not to flood the pool. */
const MAX_IN_FLIGHT = 256;
const DAY_MS = 24 * 3600 * 1000;
const SELECT =
  'SELECT message_id, seq, body_sha256, created_at FROM sequenced_sends_by_day WHERE conversation_id = ? AND day IN ? AND sender_id = ? AND client_msg_id = ?';
const INSERT =
  'INSERT INTO sequenced_sends_by_day (conversation_id, day, sender_id, client_msg_id, message_id, seq, body_sha256, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) USING TIMESTAMP ?';
/** A row's values besides its strings. */
const ROW_BYTES = 64;

const dayOf = (ms: number) => Math.floor(ms / DAY_MS);

/** SequencedSendStore on `sequenced_sends_by_day` (deploy/cassandra/011_sequenced_sends_by_day.cql). */
export class CassandraSequencedSendStore implements SequencedSendStore {
  private readonly limit = new InFlightLimit(MAX_IN_FLIGHT);

  constructor(
    private readonly db: CassandraClient,
    private readonly batcher: CoalescingBatcher,
  ) {}

  async find(conversationId: string, keys: SendKey[]): Promise<Map<string, SequencedSend[]>> {
    const id = toLong(conversationId);
    // Per key, the days its window touches: created_at ± 24 h lies within the day before and after.
    const days = new Map<string, { key: SendKey; days: Set<number> }>();
    for (const k of keys) {
      const entry = days.get(clientKey(k)) ?? { key: k, days: new Set<number>() };
      const d = dayOf(k.created_at);
      for (const day of [d - 1, d, d + 1]) entry.days.add(day);
      days.set(clientKey(k), entry);
    }
    const out = new Map<string, SequencedSend[]>();
    await Promise.all(
      [...days.values()].map(async ({ key: k, days: ds }) => {
        const rs = await this.limit.run(() => this.db.execute(SELECT, [id, [...ds], k.sender_id, k.client_msg_id], IDEMPOTENT));
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
      }),
    );
    return out;
  }

  async record(sends: SequencedSend[], timestamp: bigint): Promise<void> {
    const ts = cassandra.types.Long.fromString(timestamp.toString());
    // One group per partition (conversation and day): each is a single mutation, written atomically.
    const groups = new Map<string, { statements: Statement[]; bytes: number }>();
    for (const s of sends) {
      const day = dayOf(s.created_at);
      const group = groups.get(`${s.conversation_id}/${day}`) ?? { statements: [], bytes: 0 };
      group.statements.push({
        query: INSERT,
        params: [
          toLong(s.conversation_id),
          day,
          s.sender_id,
          s.client_msg_id,
          toLong(s.message_id),
          toLong(String(s.seq)),
          s.body_sha256,
          new Date(s.created_at),
          ts,
        ],
      });
      group.bytes += ROW_BYTES + s.sender_id.length + s.client_msg_id.length + s.body_sha256.length;
      groups.set(`${s.conversation_id}/${day}`, group);
    }
    await Promise.all([...groups.values()].map((g) => this.batcher.write(g.statements, g.bytes)));
  }
}
