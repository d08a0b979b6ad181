import { clientKey, type SendKey, type SequencedSend, type SequencedSendStore } from './sequenced-send-store.js';

/** In-process SequencedSendStore with the same contract as the Cassandra one (tests); MemoryMessageStore records into it. */
export class MemorySequencedSendStore implements SequencedSendStore {
  private readonly rows = new Map<string, Map<string, { send: SequencedSend; timestamp: bigint }>>();

  async find(conversationId: string, keys: SendKey[]): Promise<Map<string, SequencedSend[]>> {
    const out = new Map<string, SequencedSend[]>();
    for (const k of keys) {
      const rows = this.rows.get(`${conversationId}\n${clientKey(k)}`);
      if (rows)
        out.set(
          clientKey(k),
          [...rows.values()].map((r) => ({ ...r.send })),
        );
    }
    return out;
  }

  record(sends: readonly SequencedSend[], timestamp: bigint): void {
    for (const s of sends) {
      const key = `${s.conversation_id}\n${clientKey(s)}`;
      const rows = this.rows.get(key) ?? new Map<string, { send: SequencedSend; timestamp: bigint }>();
      const existing = rows.get(s.message_id);
      if (!existing || existing.timestamp <= timestamp) rows.set(s.message_id, { send: { ...s }, timestamp });
      this.rows.set(key, rows);
    }
  }
}
