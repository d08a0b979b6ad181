import type { ChatMessage, Position } from '@chat/protocol';

/** Validates and copies a message (dropping the frame's `type`). */
export function toChatMessage(v: unknown): ChatMessage | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const m = v as Record<string, unknown>;
  if (
    typeof m.conversation_id !== 'string' ||
    typeof m.message_id !== 'string' ||
    typeof m.seq !== 'number' ||
    !Number.isSafeInteger(m.seq) ||
    m.seq < 1 ||
    typeof m.epoch !== 'string'
  ) {
    return undefined;
  }
  return {
    conversation_id: m.conversation_id,
    message_id: m.message_id,
    seq: m.seq,
    epoch: m.epoch,
    sender_id: typeof m.sender_id === 'string' ? m.sender_id : '',
    client_msg_id: typeof m.client_msg_id === 'string' ? m.client_msg_id : '',
    body: typeof m.body === 'string' ? m.body : '',
    created_at: typeof m.created_at === 'number' ? m.created_at : 0,
  };
}

/** The valid messages of a list from the server; anything else is dropped. */
export function validMessages(list: unknown): ChatMessage[] {
  if (!Array.isArray(list)) return [];
  const out: ChatMessage[] = [];
  for (const v of list) {
    const m = toChatMessage(v);
    if (m) out.push(m);
  }
  return out;
}

/** A position as the wire carries it (no `epoch` key when there is none). */
export function wirePosition(p: Position): Position {
  return p.epoch ? { conversation_id: p.conversation_id, seq: p.seq, epoch: p.epoch } : { conversation_id: p.conversation_id, seq: p.seq };
}
