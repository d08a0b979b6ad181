import { ChatError, Errors, parseCanonicalId } from '@chat/protocol';

/** Where an inbox entry sits: inbox order is (entry_ts, conversation_id, seq). */
export interface InboxKey {
  entry_ts: number;
  conversation_id: string;
  seq: number;
}

/**
 * An "everything new" cursor. `t`: when the current round of pages started (the next round looks
 * back from there, so entries stamped during the round that became visible late are not missed).
 * `k`: within a round, the last entry returned: the next page starts strictly after it (so pages
 * always move on, however many entries share a stamp).
 */
export interface InboxCursor {
  t: number;
  k?: InboxKey;
}

const refused = () => new ChatError(Errors.INVALID_SHAPE, 'cursor: not a cursor this server issued');
const isTime = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

export function encodeInboxCursor(c: InboxCursor): string {
  const o = c.k ? { t: c.t, k: [c.k.entry_ts, c.k.conversation_id, c.k.seq] } : { t: c.t };
  return Buffer.from(JSON.stringify(o)).toString('base64url');
}

/** Parses a cursor this server issued; anything else is INVALID_SHAPE (never a crash, never a guess). */
export function decodeInboxCursor(cursor: string): InboxCursor {
  let o: unknown;
  try {
    o = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw refused();
  }
  if (typeof o !== 'object' || o === null) throw refused();
  const { t, k } = o as { t?: unknown; k?: unknown };
  if (!isTime(t)) throw refused();
  if (k === undefined) return { t };
  if (!Array.isArray(k) || k.length !== 3) throw refused();
  const [ts, cid, seq] = k as unknown[];
  const conversationId = parseCanonicalId(cid);
  if (!isTime(ts) || conversationId === undefined || !isTime(seq) || seq < 1) throw refused();
  return { t, k: { entry_ts: ts, conversation_id: conversationId, seq } };
}
