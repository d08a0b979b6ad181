import type { ChatMessage, ConversationLatest, LargeConversationNew, MessageAttachment, Position } from '@chat/protocol';

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
    ...attachmentsOf(m.attachments),
  };
}

/** A message's attachment metadata as the server sent it; malformed entries are left out. */
function attachmentsOf(v: unknown): { attachments?: MessageAttachment[] } {
  if (!Array.isArray(v)) return {};
  const out: MessageAttachment[] = [];
  for (const a of v as unknown[]) {
    if (typeof a !== 'object' || a === null) continue;
    const { attachment_id, content_type, size, filename } = a as Record<string, unknown>;
    if (typeof attachment_id !== 'string' || typeof content_type !== 'string' || typeof size !== 'number') continue;
    out.push({ attachment_id, content_type, size, ...(typeof filename === 'string' ? { filename } : {}) });
  }
  return out.length > 0 ? { attachments: out } : {};
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

/** The well-formed `{conversation_id, last_seq, epoch}` entries of a list from the server. */
export function validLatest(list: unknown): ConversationLatest[] {
  if (!Array.isArray(list)) return [];
  return (list as unknown[]).flatMap((v) => {
    const e = v as Partial<ConversationLatest> | null;
    return typeof e === 'object' && e !== null && typeof e.conversation_id === 'string' && typeof e.epoch === 'string' && Number.isSafeInteger(e.last_seq)
      ? [{ conversation_id: e.conversation_id, last_seq: e.last_seq!, epoch: e.epoch }]
      : [];
  });
}

/** The well-formed `large` entries of "everything new", with their first pages when the server sent them (messages of another conversation are dropped). */
export function validLargeNew(list: unknown): LargeConversationNew[] {
  if (!Array.isArray(list)) return [];
  return (list as unknown[]).flatMap((v) => {
    const [latest] = validLatest([v]);
    if (!latest) return [];
    const e = v as Partial<LargeConversationNew>;
    if (!Number.isSafeInteger(e.after_seq) || !Array.isArray(e.messages)) return [latest];
    const messages = validMessages(e.messages).filter((m) => m.conversation_id === latest.conversation_id);
    return [{ ...latest, after_seq: e.after_seq!, messages, has_more: e.has_more === true }];
  });
}
