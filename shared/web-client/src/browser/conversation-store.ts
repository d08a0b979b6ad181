import type { ChatMessage, ConversationListItem } from '@chat/protocol';

/** One conversation as the list shows it. */
export interface ConversationEntry {
  id: string;
  kind: 'direct' | 'group';
  /** Group title; for a direct conversation the other member's id once known. */
  title: string;
  /** The other member of a direct conversation. */
  peer?: string;
  epoch: string;
  lastActivity: number;
  lastSeq: number;
  preview: string;
}

/** The user's conversations, newest activity first; listeners hear of every change. */
export class ConversationStore {
  private readonly entries = new Map<string, ConversationEntry>();
  private readonly listeners = new Set<() => void>();

  onChange(listener: () => void): void {
    this.listeners.add(listener);
  }

  get(id: string): ConversationEntry | undefined {
    return this.entries.get(id);
  }

  has(id: string): boolean {
    return this.entries.has(id);
  }

  /** Newest activity first (ties: the higher id, i.e. the newer conversation). */
  ordered(): ConversationEntry[] {
    return [...this.entries.values()].sort((a, b) => b.lastActivity - a.lastActivity || (BigInt(b.id) > BigInt(a.id) ? 1 : -1));
  }

  fromListRow(row: ConversationListItem): ConversationEntry {
    const entry: ConversationEntry = {
      id: row.conversation_id,
      kind: row.kind,
      title: row.title ?? (row.kind === 'direct' ? 'direct' : 'group'),
      epoch: row.epoch,
      lastActivity: row.last_activity,
      lastSeq: row.last_seq,
      preview: row.preview ? previewText(row.preview.sender_id, row.preview.body) : '',
    };
    return this.put(entry);
  }

  put(entry: ConversationEntry): ConversationEntry {
    const known = this.entries.get(entry.id);
    const merged = known ? { ...known, ...entry, peer: entry.peer ?? known.peer } : entry;
    this.entries.set(entry.id, merged);
    this.changed();
    return merged;
  }

  setPeer(id: string, peer: string): void {
    const e = this.entries.get(id);
    if (!e) return;
    e.peer = peer;
    if (e.kind === 'direct') e.title = peer;
    this.changed();
  }

  /** A message arrived: the conversation moves up and shows it. */
  onMessage(m: ChatMessage): void {
    const e = this.entries.get(m.conversation_id);
    // An older message (a gap filled late) changes neither the order nor the preview.
    if (!e || m.seq < e.lastSeq) return;
    e.lastSeq = m.seq;
    e.lastActivity = Math.max(e.lastActivity, m.created_at);
    e.preview = previewText(m.sender_id, m.body || (m.attachments?.length ? `[attachment] ${m.attachments[0]?.filename ?? ''}`.trimEnd() : ''));
    this.changed();
  }

  /** Direct peers, for presence. */
  peers(): string[] {
    return [...new Set([...this.entries.values()].flatMap((e) => (e.peer !== undefined ? [e.peer] : [])))];
  }

  changed(): void {
    for (const l of this.listeners) l();
  }
}

function previewText(sender: string, body: string): string {
  const text = `${sender}: ${body}`;
  return text.length > 80 ? `${text.slice(0, 79)}…` : text;
}
